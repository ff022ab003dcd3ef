"""Which files a request makes, and flag validation."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import BadInput
from core.stems.mixes import plan_outputs
from core.stems.options import StemsOptions

SIX = ["drums", "bass", "other", "vocals", "guitar", "piano"]


def test_default_is_every_stem() -> None:
    assert [o.name for o in plan_outputs(SIX, "htdemucs_6s")] == SIX


def test_minus_adds_the_sum_of_the_others() -> None:
    outputs = plan_outputs(SIX, "htdemucs_6s", stems=["guitar"], minus="guitar")
    assert [o.name for o in outputs] == ["guitar", "no_guitar"]
    assert outputs[1].sources == ("drums", "bass", "other", "vocals", "piano")


def test_two_stems() -> None:
    outputs = plan_outputs(SIX[:4], "htdemucs", two_stems="vocals", hpss=True)
    assert [o.name for o in outputs] == ["vocals", "no_vocals", "harmonic", "percussive"]


def test_mix_is_summed_in_float_before_any_clipping() -> None:
    outputs = plan_outputs(SIX[:4], "htdemucs", minus="vocals")
    block = np.full((4, 2, 10), 0.9, dtype=np.float32)  # each stem near full scale
    mix = outputs[-1].render(block, {n: i for i, n in enumerate(SIX[:4])})
    assert mix.shape == (10, 2)
    assert np.allclose(mix, 2.7)  # not clipped at 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"stems": ["guitar"]}, "has no stem 'guitar'; its stems are drums, bass, other, vocals"),
        ({"minus": "piano"}, "--minus piano"),
        ({"two_stems": "vocals", "minus": "bass"}, "cannot be combined"),
    ],
)
def test_bad_stem_names(kwargs: dict, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        plan_outputs(SIX[:4], "htdemucs", **kwargs)


@pytest.mark.parametrize(
    "params, message",
    [
        ({}, "no source"),
        ({"source": "x", "format": "ogg"}, "choose one of flac, mp3, wav"),
        ({"source": "x", "bitrate": 300}, "MP3 bitrates"),
        ({"source": "x", "normalize": 5}, "between -70 and 0"),
        ({"source": "x", "normalize": "loud"}, "not a LUFS number"),
        ({"source": "x", "minus": "vocals,drums"}, "one stem name"),
    ],
)
def test_bad_options(params: dict, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        StemsOptions.from_params(params)


def test_options_round_trip() -> None:
    opts = StemsOptions.from_params(
        {"source": "a.mp3", "stems": "vocals, drums", "normalize": "-14", "format": "FLAC"}
    )
    assert opts.stems == ("vocals", "drums") and opts.normalize == -14.0
    assert opts.format == "flac"
    assert StemsOptions.from_params(opts.to_params()) == opts
