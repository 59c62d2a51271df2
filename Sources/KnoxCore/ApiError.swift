/// The documented error types of the management API and the data plane, with their HTTP status.
///
/// The raw value is the wire `error.type`; it is stable and tests assert it, never message text.
public enum ErrorType: String, Sendable, CaseIterable {
    case authenticationRequired = "authentication_required"
    case invalidApiKey = "invalid_api_key"
    case wrongKeyType = "wrong_key_type"
    case subscriptionInactive = "subscription_inactive"
    case rateLimitExceeded = "rate_limit_exceeded"
    case validationError = "validation_error"
    case notFound = "not_found"
    case conflict = "conflict"
    case inUse = "in_use"
    case planLimit = "plan_limit"
    case internalError = "internal_error"
    // Beyond the introduction page: named by the SDK, SPEC or HTTP itself.
    case forbidden = "forbidden"
    case privilegeEscalation = "privilege_escalation"
    case methodNotAllowed = "method_not_allowed"
    case payloadTooLarge = "payload_too_large"
    case unsupportedMediaType = "unsupported_media_type"
    case conflictingExpiryFields = "conflicting_expiry_fields"
    case invalidExpiry = "invalid_expiry"
    case invalidType = "invalid_type"
    case dependencyUnavailable = "dependency_unavailable"
    // The data plane's own (SPEC "Data plane").
    case routeNotFound = "route_not_found"
    case environmentNotConfigured = "environment_not_configured"
    case environmentDisabled = "environment_disabled"
    case ipNotAllowed = "ip_not_allowed"
    case signatureMissing = "signature_missing"
    case signatureExpired = "signature_expired"
    case signatureInvalid = "signature_invalid"
    case secretNotFound = "secret_not_found"
    case secretUnusable = "secret_unusable"
    case upstreamUnreachable = "upstream_unreachable"
    case upstreamTimeout = "upstream_timeout"
    /// The upstream's answer is not acceptable HTTP (502).
    case upstreamInvalidResponse = "upstream_invalid_response"
    /// The route leads back into this gateway, directly or through other proxies (508, RFC 5842).
    case loopDetected = "loop_detected"
    /// The caller stopped sending its request (408).
    case requestTimeout = "request_timeout"
    /// The listener holds as many connections as it may (503, with `Retry-After`).
    case tooManyConnections = "too_many_connections"
    /// The request target is longer than the listener accepts (414).
    case uriTooLong = "uri_too_long"
    /// The request head is larger, or has more fields, than the listener accepts (431).
    case headersTooLarge = "request_header_fields_too_large"
    // OAuth DPoP (RFC 9449), on the management API and the data plane.
    case invalidDpopProof = "invalid_dpop_proof"
    case useDpopNonce = "use_dpop_nonce"

    /// The HTTP status that goes with this type.
    public var status: Int {
        switch self {
        case .authenticationRequired, .invalidApiKey, .signatureMissing, .signatureExpired, .signatureInvalid: 401
        case .invalidDpopProof, .useDpopNonce: 401
        case .wrongKeyType, .subscriptionInactive, .planLimit, .forbidden, .privilegeEscalation, .ipNotAllowed: 403
        case .routeNotFound, .environmentNotConfigured, .environmentDisabled: 404
        case .secretNotFound: 400
        case .secretUnusable: 500
        case .upstreamUnreachable, .upstreamInvalidResponse: 502
        case .loopDetected: 508
        case .requestTimeout: 408
        case .tooManyConnections: 503
        case .uriTooLong: 414
        case .headersTooLarge: 431
        case .upstreamTimeout: 504
        case .rateLimitExceeded: 429
        case .validationError, .conflictingExpiryFields, .invalidExpiry, .invalidType: 400
        case .notFound: 404
        case .conflict, .inUse: 409
        case .internalError: 500
        case .methodNotAllowed: 405
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .dependencyUnavailable: 503
        }
    }
}

/// An error a caller can act on: a documented type, a message that names the field at fault,
/// and optionally the field itself.
///
/// Messages never contain secret values, keys or tokens; they may name a secret.
public struct ApiError: Error, Sendable, Equatable, CustomStringConvertible {
    public let type: ErrorType
    public let message: String
    /// The request field, parameter or header the error is about, when there is one.
    public let field: String?
    /// Seconds the caller should wait (429 and 503).
    public let retryAfter: Int?
    /// Why a request that matches the OpenAPI document was refused (the wire `error.reason`); nil when the request
    /// breaks the document itself.
    public let reason: RefusalReason?

    public init(
        _ type: ErrorType, _ message: String, field: String? = nil, retryAfter: Int? = nil, reason: RefusalReason? = nil
    ) {
        self.type = type
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
        self.reason = reason
    }

    public var status: Int { type.status }
    public var description: String { "\(type.rawValue): \(message)" }

    /// A `validation_error` about one field; the message starts with the field's name.
    public static func invalid(_ field: String, _ problem: String) -> ApiError {
        ApiError(.validationError, "\(field): \(problem)", field: field)
    }

    /// A `validation_error` about one field for a request the document allows but the current state or the
    /// operator's settings refuse.
    public static func refused(_ field: String, _ problem: String, _ reason: RefusalReason) -> ApiError {
        ApiError(.validationError, "\(field): \(problem)", field: field, reason: reason)
    }

    /// A `not_found` for a resource kind ("Route", "Secret"…).
    public static func notFound(_ resource: String) -> ApiError {
        ApiError(.notFound, "\(resource) not found")
    }
}

/// The refusals of requests that match the OpenAPI document: the document states each field's shape, not what exists
/// in the store, what the operator allows, what time it is, or rules that tie fields together. Each one is sent as
/// `error.reason`, so a client (and the contract test) can tell them from requests the document itself forbids.
public enum RefusalReason: String, Sendable, CaseIterable {
    /// The field names something (an environment, a secret) that does not exist in this mode.
    case unknownReference = "unknown_reference"
    /// The field cannot change once the resource exists, and the request gives it another value.
    case immutable = "immutable"
    /// The resource's current state refuses the change (the default environment cannot stop being the default).
    case currentState = "current_state"
    /// A rule of this gateway's configuration refuses the value (client range width, its own listeners).
    case operatorPolicy = "operator_policy"
    /// Fields that go only together, or never together, were sent otherwise.
    case fieldCombination = "field_combination"
    /// A time outside the window it must fall in.
    case timeWindow = "time_window"
    /// The value belongs to the other mode (a live key type on the sandbox API).
    case otherMode = "other_mode"
    /// The value has one canonical spelling and was sent another way (the message gives the canonical one).
    case notCanonical = "not_canonical"
    /// A `{{…}}` in a text that is not a valid `{{secret:NAME}}` / `{{secret_id:UUID}}` placeholder.
    case invalidPlaceholder = "invalid_placeholder"
    /// A header the gateway owns or that frames the message, which a route may not inject.
    case reservedName = "reserved_name"
}
