"""Durable reminders of upcoming bookings (docs/reminders.md): planned from bookings, stored in Postgres,
claimed when due and sent once through the channel's inbox as proactive messages."""
