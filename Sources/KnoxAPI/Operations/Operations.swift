import KnoxCore
import KnoxEngine

/// Every operation of the management API, in document order. Routing and the OpenAPI document both come from here.
public enum Operations {
    public static let all: [Operation] =
        routes + routeEnvironments + secrets + clients + environments + apiKeys + logs + account + meta
}
