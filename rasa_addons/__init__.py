"""Small Rasa extensions loaded by the Rasa server (.venv-rasa): NLU components (language
detection, the USE featurizer, the intent classifier), channels, the cached tracker store, and
patches to Rasa itself, which only ``rasa_addons.serve`` installs (``patches.install``).
Importing this package changes nothing in Rasa. Kept free of the project's heavy dependencies:
Rasa runs on Python 3.10 and imports only the standard-library parts of ``bot/`` (``bot.lang``,
``bot.texts``, ``bot.config``)."""
