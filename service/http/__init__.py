"""HTTP: the application, its handlers by route family, the server and its workers, metrics, logs
and the OpenAPI document."""
