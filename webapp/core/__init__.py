"""Small pieces shared by services and the outbox engine: time, errors, addresses, text, the
access log (below the models, which read the clock), and the audit trail (above them: it
writes AuditEntry rows)."""
