"""Servicers: protobuf in, domain calls, protobuf out; and who may call each RPC."""
