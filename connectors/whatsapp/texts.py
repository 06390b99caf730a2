"""What the client reads from the channel itself (Spanish), and the texts Rasa receives for
messages without words (media, location, empty)."""

RATE_LIMITED = "Recibimos muchos mensajes seguidos 🙏 espera un momento y vuelve a escribirnos."
OPTED_OUT = (
    "Listo, ya no te enviaremos más mensajes por WhatsApp. "
    "Si quieres volver a recibirlos, escribe ALTA."
)
OPTED_IN = (
    "¡Listo! Volverás a recibir nuestros mensajes. "
    "Si en algún momento quieres dejar de recibirlos, escribe BAJA."
)

# Texts handed to Rasa when the client sent no words (the details travel in metadata): intent
# payloads, so Rasa answers them by rule (domain intents enviar_media / enviar_ubicacion) instead
# of guessing an intent from a placeholder word.
MEDIA_PLACEHOLDERS = {
    "image": "/enviar_media",
    "audio": "/enviar_media",
    "video": "/enviar_media",
}
DOCUMENT_PLACEHOLDER = "/enviar_media"
LOCATION_PLACEHOLDER = "/enviar_ubicacion"
EMPTY_PLACEHOLDER = "[mensaje vacío]"
