"""Meta's Graph API parts that Facebook Pages and Instagram share: error codes and usage headers
(`errors.py`), the webhook challenge, signature and change envelope (`webhook.py`). Not a
platform of its own (not in the registry): `facebook` and `instagram` use it."""
