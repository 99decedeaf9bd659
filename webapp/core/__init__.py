"""Small pieces shared by services and the outbox engine: time, errors, addresses, audit."""
