"""Generated gRPC stubs of proto/slot/v1/slot.proto (do not edit; run make proto)."""
