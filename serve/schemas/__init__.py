"""Request and response shapes of the HTTP API (pydantic), kept apart from the ORM rows."""
