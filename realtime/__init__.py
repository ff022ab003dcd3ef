"""CrateBot venue audio server: a Raspberry Pi plays decks whose tempo is set over OSC.

This package is installable on its own (``pip install --no-deps . && pip install
"$(python -m realtime.requirements)"``) and imports nothing from ``bot``, ``core``
or ``storage``. Entry points:

* :mod:`realtime.cli` -- the ``cratebot-pi`` command (server and ``send``).
* :class:`realtime.client.PiClient` -- async client that signs commands and awaits replies.
* :mod:`realtime.protocol` -- the signing scheme and OSC addresses (the wire contract).
"""

DEFAULT_PORT = 57120
