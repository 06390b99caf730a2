"""What the channel itself says to a client (Spanish), without asking Rasa: opt-out, opt-in, rate limit."""

RATE_LIMITED = "Recibimos muchos mensajes seguidos 🙏 espera un momento y vuelve a escribirnos."
OPTED_OUT = (
    "Listo, ya no te enviaremos más mensajes por WhatsApp. "
    "Si quieres volver a recibirlos, escribe ALTA."
)
OPTED_IN = (
    "¡Listo! Volverás a recibir nuestros mensajes. "
    "Si en algún momento quieres dejar de recibirlos, escribe BAJA."
)
