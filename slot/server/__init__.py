"""The gRPC service (grpc.aio): servicer, admission control, errors, metrics, health and shutdown."""
