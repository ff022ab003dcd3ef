"""DJ library files in the shape real software writes them, produced by the tests.

``rekordbox6_demo`` follows a Rekordbox 6.6.2 export: Windows ``file://localhost/C:/``
locations, a localised ``Kind="Mp3-Datei "`` (trailing space included), sampler
one-shots with ``AverageBpm="0.00"`` and no grid, and a 120 BPM track whose grid
after 48 s is written as millisecond-rounded TEMPO markers on consecutive beats.
"""

from __future__ import annotations

from urllib.parse import quote

DEMO2_MARKERS = (
    "48.026",
    "48.525",
    "49.026",
    "49.525",
    "50.026",
    "50.525",
    "51.026",
    "51.525",
    "52.026",
)
PLAYLISTS = '<PLAYLISTS><NODE Type="0" Name="ROOT" Count="0"/></PLAYLISTS>'


def url(path: str) -> str:
    """A Rekordbox ``Location``: UTF-8 percent-encoded, ``file://localhost/`` in front."""
    return "file://localhost/" + quote(path.lstrip("/"), safe="/:")


def rounded_markers(start: float, bpm: float, first: int, count: int, battito: int) -> str:
    """TEMPO markers on ``count`` consecutive beats from beat ``first``, times to the ms."""
    period = 60.0 / bpm
    out = []
    for k in range(first, first + count):
        t = start + k * period
        out.append(
            f'<TEMPO Inizio="{t:.3f}" Bpm="{bpm:.2f}" Metro="4/4" '
            f'Battito="{(battito - 1 + k) % 4 + 1}"/>'
        )
    return "\n      ".join(out)


def rekordbox6_demo(folder: str = "C:/Music/PioneerDJ/Demo Tracks") -> str:
    # A straight 120 BPM grid whose beats Rekordbox keeps to the millisecond: from beat 96
    # on it wrote one marker per beat, alternately a millisecond late and on time.
    markers = "\n      ".join(
        f'<TEMPO Inizio="{t}" Bpm="120.00" Metro="4/4" Battito="{n % 4 + 1}"/>'
        for n, t in enumerate(DEMO2_MARKERS)
    )
    one_shots = "".join(
        f'<TRACK TrackID="{900 + n}" Name="{name}" Kind="Wav-Datei " AverageBpm="0.00" '
        f'TotalTime="7" Tonality="" '
        f'Location="{url(f"C:/Music/PioneerDJ/Sampler/OSC_SAMPLER/PRESET ONESHOT/{name}.wav")}"/>'
        for n, name in enumerate(("HORN", "NOISE", "SINEWAVE", "SIREN"))
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>

<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="6.6.2" Company="AlphaTheta"/>
  <COLLECTION Entries="6">
    <TRACK TrackID="253529738" Name="Demo Track 1" Artist="Loopmasters" Kind="Mp3-Datei "
           TotalTime="172" AverageBpm="128.00" SampleRate="44100" Tonality="Fm"
           Location="{url(folder + "/Demo Track 1.mp3")}">
      <TEMPO Inizio="0.025" Bpm="128.00" Metro="4/4" Battito="1"/>
    </TRACK>
    <TRACK TrackID="17109519" Name="Demo Track 2" Artist="Loopmasters" Kind="Mp3-Datei "
           TotalTime="128" AverageBpm="120.00" SampleRate="44100" Tonality="Fm"
           Location="{url(folder + "/Demo Track 2.mp3")}">
      <TEMPO Inizio="0.025" Bpm="120.00" Metro="4/4" Battito="1"/>
      {markers}
    </TRACK>
    {one_shots}
  </COLLECTION>
  {PLAYLISTS}
</DJ_PLAYLISTS>
"""


def rekordbox5_mac() -> str:
    """Rekordbox 5: macOS locations, English ``Kind``, non-ASCII and URL-encoded names,
    memory cues (``Num="-1"``) and hot cues, a track without grid."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>

<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="5.8.6" Company="Pioneer DJ"/>
  <COLLECTION Entries="3">
    <TRACK TrackID="1" Name="Café" Kind="MP3 File" TotalTime="200" AverageBpm="124.00"
           Tonality="10A" Location="{url("/Users/dj/Music/Électro/Café Niño #1 (100%).mp3")}">
      <TEMPO Inizio="0.100" Bpm="124.00" Metro="4/4" Battito="4"/>
      <POSITION_MARK Name="" Type="0" Start="0.584" Num="-1"/>
      <POSITION_MARK Name="" Type="0" Start="31.552" Num="-1"/>
      <POSITION_MARK Name="Drop" Type="0" Start="62.520" Num="1"/>
      <POSITION_MARK Name="" Type="4" Start="93.487" End="95.423" Num="-1"/>
      <POSITION_MARK Name="fade" Type="1" Start="10.000" Num="-1"/>
    </TRACK>
    <TRACK TrackID="2" Name="No grid" Kind="WAV File" TotalTime="9" AverageBpm="0.00"
           Tonality="" Location="{url("/Users/dj/Music/Samples/Ünïcode loop.wav")}"/>
    <TRACK TrackID="3" Name="Space" Kind="AIFF File" TotalTime="300" AverageBpm="95.50"
           Tonality="Abm" Location="{url("/Volumes/USB STICK/DJ/a b+c.aiff")}">
      <POSITION_MARK Name="Intro" Type="0" Start="20.100" Num="0"/>
    </TRACK>
  </COLLECTION>
  {PLAYLISTS}
</DJ_PLAYLISTS>
"""


def traktor_nml() -> str:
    """A Traktor Pro 3 ``collection.nml``: a Windows and a macOS entry."""
    return """<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<NML VERSION="19"><HEAD COMPANY="www.native-instruments.com" PROGRAM="Traktor"></HEAD>
<MUSICFOLDERS></MUSICFOLDERS>
<COLLECTION ENTRIES="3">
<ENTRY MODIFIED_DATE="2024/3/1" MODIFIED_TIME="4000" AUDIO_ID="AX..." TITLE="Deep One" ARTIST="A">
<LOCATION DIR="/:Users/:dj/:Music/:Deep House/:" FILE="Deep One.mp3" VOLUME="C:" VOLUMEID="1a2b"></LOCATION>
<MODIFICATION_INFO AUTHOR_TYPE="user"></MODIFICATION_INFO>
<INFO BITRATE="320000" KEY="6m" PLAYTIME="100" PLAYTIME_FLOAT="99.500000"></INFO>
<TEMPO BPM="122.000000" BPM_QUALITY="100.000000"></TEMPO>
<LOUDNESS PEAK_DB="-0.5" PERCEIVED_DB="-1.2" ANALYZED_DB="-1.2"></LOUDNESS>
<MUSICAL_KEY VALUE="19"></MUSICAL_KEY>
<CUE_V2 NAME="AutoGrid" DISPL_ORDER="0" TYPE="4" START="113.562" LEN="0.000000" REPEATS="-1" HOTCUE="0"><GRID BPM="122.000000"></GRID></CUE_V2>
<CUE_V2 NAME="n.n." DISPL_ORDER="0" TYPE="0" START="113.562" LEN="0.000000" REPEATS="-1" HOTCUE="-1"></CUE_V2>
<CUE_V2 NAME="Mix in" DISPL_ORDER="0" TYPE="0" START="15851.267" LEN="0.000000" REPEATS="-1" HOTCUE="1"></CUE_V2>
<CUE_V2 NAME="Fade" DISPL_ORDER="0" TYPE="1" START="5000.0" LEN="0.000000" REPEATS="-1" HOTCUE="-1"></CUE_V2>
</ENTRY>
<ENTRY TITLE="Mac Track" ARTIST="B">
<LOCATION DIR="/:Users/:dj/:Music/:Crate/:" FILE="Mac Tráck.flac" VOLUME="Macintosh HD" VOLUMEID="Macintosh HD"></LOCATION>
<INFO KEY="1d"></INFO>
<TEMPO BPM="128.000000" BPM_QUALITY="100.000000"></TEMPO>
<CUE_V2 NAME="Beat Marker" DISPL_ORDER="0" TYPE="4" START="250.0" LEN="0" REPEATS="-1" HOTCUE="-1"></CUE_V2>
<CUE_V2 NAME="Beat Marker" DISPL_ORDER="0" TYPE="4" START="60250.0" LEN="0" REPEATS="-1" HOTCUE="-1"></CUE_V2>
<CUE_V2 NAME="Drop" DISPL_ORDER="0" TYPE="5" START="30250.0" LEN="1875.0" REPEATS="-1" HOTCUE="0"></CUE_V2>
</ENTRY>
<ENTRY TITLE="Stream"><LOCATION DIR="" FILE="" VOLUME=""></LOCATION></ENTRY>
</COLLECTION>
<PLAYLISTS><NODE TYPE="FOLDER" NAME="$ROOT"><SUBNODES COUNT="0"></SUBNODES></NODE></PLAYLISTS>
</NML>
"""
