import io

import numpy as np
import torch
from PIL import Image

from bdqlib import BDQEncoder
from bdqlib.study import views
from bdqlib.study.design import build_study

from .test_study import manifests

NAMES = ("alice_smith", "bob_jones", "carol_white", "dan_brown", "erin_black")


def test_gif_loops_every_frame_enlarged_by_pixel_replication():
    frames = np.zeros((3, 4, 5, 3), np.float32)
    frames[1, 0, 0] = 1.0
    gif = Image.open(io.BytesIO(views.gif_bytes(frames, fps=10, scale=3)))
    assert gif.n_frames == 3 and gif.size == (15, 12) and gif.info["loop"] == 0 and gif.info["duration"] == 100
    gif.seek(1)
    pixels = np.asarray(gif.convert("L"))
    assert (pixels[:3, :3] == 255).all() and (pixels[3:] == 0).all()  # one white pixel became a 3x3 block
    png = Image.open(io.BytesIO(views.png_bytes(np.full((2, 2, 3), 7, np.uint8), scale=2)))
    assert png.size == (4, 4) and np.asarray(png)[0, 0, 0] == 7


def media_for(study):
    """Each person's PNG is a different grey level, so the tests can tell which face is shown where."""
    people = {p: views.png_bytes(np.full((2, 2, 3), 10 * i, np.uint8)) for i, p in enumerate(sorted(study.gallery))}
    clips = {q.number: views.gif_bytes(np.zeros((2, 2, 2, 3), np.uint8)) for q in study.questions}
    return views.StudyMedia(clips, people)


def test_the_view_shows_letters_never_names_and_each_letter_the_right_face():
    test, train = manifests(people=NAMES)
    study = build_study(test, train, questions=6, candidates=4, seed=0)
    media = media_for(study)
    for q in study.questions:
        view = views.question_view(study, q, media)
        page = view.html() + view.prompt() + repr(view)
        assert not [name for name in NAMES if name in page]  # nobody's name, not even the answer's
        assert [letter for letter, _ in view.gallery] == ["A", "B", "C", "D"]
        assert [png for _, png in view.gallery] == [media.people[p] for p in q.candidates]
        assert view.pick == 1 and view.clip == media.clips[q.number] and f"{q.number} of 6" in view.prompt()


def test_encoded_frames_follow_the_encoder_wherever_and_in_whatever_precision_it_lives():
    torch.manual_seed(0)
    clip = torch.randn(3, 5, 8, 8)  # float32, as the datasets give it
    for enc in (BDQEncoder(), BDQEncoder().double()):  # a float64 encoder must not meet a float32 clip
        frames = views.encoded_frames(enc, clip, mean=(0.5,) * 3, std=(0.25,) * 3)
        assert frames.shape == (4, 8, 8, 3) and frames.dtype == np.float32
        assert frames.min() >= 0 and frames.max() <= 1 and abs(float(np.abs(frames - 0.5).max()) - 0.5) < 1e-6
    raw = views.encoded_frames(BDQEncoder(False, False, False), clip, mean=(0.5,) * 3, std=(0.25,) * 3)
    expected = (clip * 0.25 + 0.5).clamp(0, 1).permute(1, 2, 3, 0).numpy()
    np.testing.assert_allclose(raw, expected, atol=1e-6)  # no difference: un-normalised like the input


def test_study_media_from_datasets(tiny_data):
    study = build_study(tiny_data.test.manifest, tiny_data.train.manifest, questions=3, candidates=3)
    media = views.study_media(study, BDQEncoder(), tiny_data.test, tiny_data.train.frames, tiny_data.train.manifest,
                              mean=(0.45,) * 3, std=(0.225,) * 3, scale=2)
    assert set(media.clips) == {1, 2, 3} and set(media.people) == set(study.gallery)
    gif = Image.open(io.BytesIO(media.clips[1]))
    assert gif.n_frames == tiny_data.test.num_frames - 1 and gif.size == (2 * tiny_data.test.size,) * 2
