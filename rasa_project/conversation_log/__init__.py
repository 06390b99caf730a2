"""The conversation log: Rasa's SQL events table plus our channel tables, views and migrations."""
