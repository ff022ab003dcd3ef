"""The real-music folder builder reads each Debian package's licence right."""

from __future__ import annotations

from benchmarks.identify_music_folder import (
    _copyright_licences,
    _free_text_licences,
    _licence_for,
)

DEP5 = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: somegame

Files: *
Copyright: 2010 The Team
License: GPL-2+
 This program is free software.

Files: data/music/*.ogg
Copyright: 2012 A Composer
License: CC-BY-SA-3.0
 Creative Commons text.

Files: debian/*
Copyright: 2013 A Maintainer
License: GPL-2+
"""


def test_dep5_licence_of_a_music_file_comes_from_its_stanza() -> None:
    stanzas, names = _copyright_licences(DEP5)
    assert names == ["GPL-2+", "CC-BY-SA-3.0"]
    # Installed paths differ from source paths: the tail decides.
    music = "usr/share/games/somegame/data/music/theme.ogg"
    assert _licence_for(music, stanzas, names) == "CC-BY-SA-3.0"
    # Files: * is the default.
    assert _licence_for("usr/share/games/somegame/sounds/x.ogg", stanzas, names) == "GPL-2+"
    assert _licence_for("x.ogg", [], ["GPL-2+", "CC0"]) == "GPL-2+ / CC0"


def test_free_text_copyright_names_the_licences_it_points_to() -> None:
    text = (
        "This package was debianized by someone.\n\nLicense:\n\n"
        "  On Debian systems the GPL can be found in /usr/share/common-licenses/GPL-2.\n"
        "  Some music is licensed under the Creative Commons Attribution 3.0 license.\n"
    )
    stanzas, _ = _copyright_licences(text)
    assert stanzas == []
    assert _free_text_licences(text) == ["GPL-2", "CC-BY"]
