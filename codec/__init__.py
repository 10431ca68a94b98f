"""Optional payload codec with crypto-shredding: Temporal payloads (inputs, results, signals,
failures) encrypted with AES-GCM under one data key per contact, so erasing a contact's key
makes that contact's histories unreadable while every other history still decodes.

On with NURTURE_CODEC=1 (worker and clients, see worker.connect) and a key-encryption key in
NURTURE_CODEC_KEY. `python cli.py codec-server` serves /encode and /decode for the Temporal UI.
Search attributes and workflow ids are never encoded by Temporal: they hold ids only.
"""

from codec.keys import CodecKeyError, KeyRing, KeyShredded
from codec.payload_codec import ContactPayloadCodec, contact_of_workflow, data_converter, data_converter_from_env

__all__ = ["CodecKeyError", "ContactPayloadCodec", "KeyRing", "KeyShredded", "contact_of_workflow",
           "data_converter", "data_converter_from_env"]
