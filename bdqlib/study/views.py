"""What a participant sees: encoded clips as looping GIFs, raw frames as PNGs, one question as HTML.

A `QuestionView` is built from a question's letters and image bytes only -- never from identity names -- so
nothing a participant is shown (or a headless preview prints) can give the answer away.
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..core.encoder import as_input_of
from .design import LETTERS, Question, Study


def _to_uint8(frame) -> np.ndarray:
    a = np.asarray(frame)
    return a if a.dtype == np.uint8 else (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)


def _pil(frame, scale: int) -> Image.Image:
    img = Image.fromarray(_to_uint8(frame))
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img


def gif_bytes(frames, *, fps: float = 8.0, scale: int = 1) -> bytes:
    """(T, H, W, 3) frames, float in [0, 1] or uint8 -> an endlessly looping GIF; `scale` enlarges by pixel
    replication (a 48 px clip is unreadable at its own size, and smoothing would add detail that is not there)."""
    images = [_pil(f, scale) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=int(round(1000 / fps)), disposal=1)
    return buf.getvalue()


def png_bytes(frame, *, scale: int = 1) -> bytes:
    buf = io.BytesIO()
    _pil(frame, scale).save(buf, format="PNG")
    return buf.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def encoded_frames(encoder, clip: torch.Tensor, *, mean, std) -> np.ndarray:
    """One clip (C, T, H, W), normalised as the datasets give it -> E's output as (T', H, W, 3) floats in [0, 1].

    Signed output (after the difference module) is shown around mid-grey with one scale for the whole clip, so
    the animation does not flicker; other output is un-normalised like the input.
    """
    with torch.no_grad():
        y = encoder.eval()(as_input_of(encoder, clip[None]))[0].detach().float().cpu()
    if getattr(encoder, "use_difference", False):
        y = y / (2 * (float(y.abs().max()) or 1.0)) + 0.5
    else:
        y = y * torch.tensor(std).view(-1, 1, 1, 1) + torch.tensor(mean).view(-1, 1, 1, 1)
    return y.clamp(0, 1).permute(1, 2, 3, 0).numpy()


@dataclass(frozen=True)
class StudyMedia:
    clips: dict     # question number -> GIF bytes of its encoded clip
    people: dict    # person -> PNG bytes of a raw training frame


def study_media(study: Study, encoder, test, train_frames, train_manifest, *, mean, std, fps: float = 8.0,
                scale: int = 4) -> StudyMedia:
    """The images of a study: each question's test clip through `encoder` (test: a VideoClipDataset, sampled
    deterministically), and each person's gallery frame, the middle frame of their gallery clip in the training
    split (train_frames: a CachedFrames/DecodedFrames source, train_manifest: the rows `study.gallery` names)."""
    clips = {q.number: gif_bytes(encoded_frames(encoder, test[q.clip][0], mean=mean, std=std), fps=fps, scale=scale)
             for q in study.questions}
    people = {}
    for person, row in study.gallery.items():
        r = train_manifest.loc[row]
        middle = (int(r["start"]) + int(r["end"])) // 2
        people[person] = png_bytes(train_frames.clip(r["video"], middle, 1)[0], scale=max(1, scale // 2))
    return StudyMedia(clips, people)


@dataclass(frozen=True)
class QuestionView:
    number: int
    total: int
    pick: int           # how many letters to choose
    clip: bytes         # GIF
    gallery: tuple      # (letter, PNG bytes) in display order

    def prompt(self) -> str:
        who = "the person" if self.pick == 1 else f"the {self.pick} people"
        return f"Question {self.number} of {self.total}: which candidate is {who} acting in this encoded clip?"

    def html(self) -> str:
        cells = "".join(f'<figure style="display:inline-block;margin:4px;text-align:center">'
                        f'<img src="{data_uri(png, "image/png")}"/><figcaption><b>{letter}</b></figcaption></figure>'
                        for letter, png in self.gallery)
        return (f"<div><p>{html.escape(self.prompt())}</p>"
                f'<img src="{data_uri(self.clip, "image/gif")}"/><div>{cells}</div></div>')


def question_view(study: Study, question: Question, media: StudyMedia) -> QuestionView:
    gallery = tuple((LETTERS[i], media.people[p]) for i, p in enumerate(question.candidates))
    return QuestionView(question.number, len(study.questions), len(question.answer), media.clips[question.number],
                        gallery)
