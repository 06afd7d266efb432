"""HTTP handlers: JSON ⇄ protobuf translation only."""
