"""The recorder bot's media side: who is in the picture (places), one real-time clock that
mixes their audio and lays out their video (mixer), the encoders (writer), and where the
finished file goes (storage, callback). `python -m bots.recorder` wires them to the bot
runtime."""
