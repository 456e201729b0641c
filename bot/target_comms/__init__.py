"""Target communications: the messages a Capillary loyalty target sends, edited by ``/comm upsert``."""
