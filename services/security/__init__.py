"""Who may call what: API tokens on the public services, a cluster secret on the internal
plane, TLS on the public listeners. Each process configures this once at start
(`process_security.configure`); `services.serving` applies it to every server and channel,
so no servicer or caller handles credentials itself."""
