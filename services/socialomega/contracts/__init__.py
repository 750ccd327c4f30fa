"""The payloads of the events the services exchange (one model per event type)."""
