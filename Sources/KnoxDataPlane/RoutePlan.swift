import KnoxCore
import KnoxCrypto

/// Everything the data plane needs to serve one route in one environment, computed once per snapshot so that the
/// request path only looks things up.
public final class RoutePlan: Sendable {
    public let route: Route
    public let environment: String
    public let settings: RouteSettings
    public let target: UpstreamURL
    /// `target.hostHeader`, computed once.
    public let hostHeader: String
    /// Scheme, host and port: which pooled upstream connections can serve this plan, computed once.
    public let poolKey: String
    /// Upper-case methods allowed; nil for all.
    public let allowedMethods: Set<String>?
    public let ipAllowlist: [IPRange]
    /// Header name → template, in the order configured, split once into literal text and secret references.
    public let injectHeaders: [InjectedHeader]
    /// Every injected header can be written in place (`InjectedHeader.inPlaceLength`), the usual case.
    public let injectsInPlace: Bool
    public let injectBody: JSONObject?
    public let requireSignature: Bool
    public let signingSecretId: String?
    /// The signing secret's value in this environment, prepared once per snapshot like the injected headers' (nil:
    /// none, or no value); it stays sealed until the signature is checked.
    public let signingSecret: PreparedSecret?
    public let signatureToleranceSec: Int
    public let limiter: RateLimiter?
    public let timeoutSec: Int
    /// Whether this environment of the route serves traffic.
    public let environmentEnabled: Bool
    /// Enabled clients assigned to this route in this environment, with their address ranges.
    public let assignedClients: [(id: String, range: IPRange)]
    /// Ids of the secrets a caller's own body may refer to (`callable_secrets`); empty: none.
    public let callableSecretIds: Set<String>
    /// Whether a caller's path may hold encoded slashes and backslashes.
    public let allowEncodedSlashes: Bool
    /// Whether TRACE is served: only where `allowed_methods` lists it.
    public let allowsTrace: Bool

    init(
        route: Route, environment: String, settings: RouteSettings, target: UpstreamURL, limiter: RateLimiter?,
        assignedClients: [(id: String, range: IPRange)], callableSecretIds: Set<String> = [],
        prepare: (SecretReference, String) -> PreparedSecret? = { _, _ in nil }
    ) {
        // Every setting a row leaves unset takes its descriptor's default (RouteSettings.fields), so the `??` below
        // only satisfy the type: baseDefaults sets each of those fields.
        let s = RouteSettings.baseDefaults.overlaid(with: settings)
        self.route = route
        self.environment = environment
        self.settings = s
        self.target = target
        hostHeader = target.hostHeader
        poolKey = "\(target.scheme)://\(target.host):\(target.port)"
        allowedMethods = s.allowedMethods.map(Set.init)
        ipAllowlist = (s.ipAllowlist ?? []).compactMap { try? IPRange.parse($0).get() }
        // Rows saved before reserved names were refused (x-knoxcall-*, Via…) never inject them.
        injectHeaders = (s.injectHeaders ?? JSONObject()).compactMap { name, value in
            guard !InjectableHeaders.isUninjectable(name) else { return nil }
            return value.stringValue.map {
                InjectedHeader(name: name, template: $0).prepared { prepare($0, environment) }
            }
        }
        injectsInPlace = injectHeaders.allSatisfy { $0.inPlaceLength != nil }
        injectBody = (s.injectBody?.isEmpty ?? true) ? nil : s.injectBody
        requireSignature = s.requireSignature ?? false
        signingSecretId = s.signingSecretId
        signingSecret = s.signingSecretId.flatMap { prepare(.id($0), environment) }
        signatureToleranceSec = s.signatureToleranceSec ?? 0
        self.limiter = limiter
        timeoutSec = s.upstreamTimeoutSec ?? 0
        environmentEnabled = s.enabled ?? false
        self.assignedClients = assignedClients
        self.callableSecretIds = callableSecretIds
        allowEncodedSlashes = s.allowEncodedSlashes ?? false
        allowsTrace = s.allowedMethods?.contains("TRACE") ?? false
    }
}

/// The result of looking a route up for a request.
public enum RouteLookup: Sendable {
    case found(RoutePlan)
    case routeNotFound
    case routeDisabled
    case environmentNotConfigured
    case environmentDisabled
}

/// One injected header, pre-split: the request path only looks secrets up and joins the pieces. A class: each request
/// reads the plan's headers, and a reference costs one retain where a copy of the struct cost one per string.
public final class InjectedHeader: Sendable {
    public enum Piece: Sendable {
        case text(String)
        case secret(SecretReference)
        /// A reference found when the configuration was loaded: its sealed value for the plan's environment, ready to
        /// open (ciphertext and associated data only; the plaintext exists only when the request is injected).
        case sealed(SecretReference, PreparedSecret)
    }

    public let name: String
    /// `name` lowercased, computed once (the caller's fields of the same name are not forwarded).
    public let lowercasedName: String
    public let template: String
    /// Nil when the template held a malformed placeholder (refused when the route was saved, so only for old rows).
    public let pieces: [Piece]?
    /// No placeholder at all: the template is the value (worked out once, not per request).
    public let isStatic: Bool
    /// The value's length in bytes when every piece is text or a prepared secret, whose length its ciphertext gives:
    /// the data plane then writes the value into the upstream head as it opens the secrets, with no string made.
    /// Nil when a piece is a reference found only per request (or the template is malformed).
    public let inPlaceLength: Int?

    private init(name: String, lowercasedName: String, template: String, pieces: [Piece]?) {
        self.name = name
        self.lowercasedName = lowercasedName
        self.template = template
        self.pieces = pieces
        isStatic = Self.onlyText(pieces)
        inPlaceLength = Self.inPlaceLength(pieces)
    }

    private static func inPlaceLength(_ pieces: [Piece]?) -> Int? {
        guard let pieces else { return nil }
        var length = 0
        for piece in pieces {
            switch piece {
            case .text(let text): length += text.utf8.count
            case .sealed(_, let prepared):
                guard let n = prepared.valueLength else { return nil }
                length += n
            case .secret: return nil
            }
        }
        return length
    }

    private static func onlyText(_ pieces: [Piece]?) -> Bool {
        pieces.map { $0.allSatisfy { if case .text = $0 { true } else { false } } } ?? false
    }

    /// This header with its secret references looked up once (those `prepare` cannot find stay references, and are
    /// refused as before when a request needs them).
    func prepared(_ prepare: (SecretReference) -> PreparedSecret?) -> InjectedHeader {
        let pieces = self.pieces?.map { piece -> Piece in
            guard case .secret(let reference) = piece, let found = prepare(reference) else { return piece }
            return .sealed(reference, found)
        }
        return InjectedHeader(name: name, lowercasedName: lowercasedName, template: template, pieces: pieces)
    }

    init(name: String, template: String) {
        self.name = name
        lowercasedName = name.lowercased()
        self.template = template
        guard let occurrences = try? SecretTemplate.scan(template) else {
            pieces = nil
            isStatic = false
            inPlaceLength = nil
            return
        }
        let bytes = Array(template.utf8)
        var pieces: [Piece] = []
        var cursor = 0
        for occurrence in occurrences {
            if occurrence.range.lowerBound > cursor {
                pieces.append(.text(String(decoding: bytes[cursor..<occurrence.range.lowerBound], as: UTF8.self)))
            }
            pieces.append(.secret(occurrence.reference))
            cursor = occurrence.range.upperBound
        }
        if cursor < bytes.count { pieces.append(.text(String(decoding: bytes[cursor...], as: UTF8.self))) }
        self.pieces = pieces
        isStatic = Self.onlyText(pieces)
        inPlaceLength = Self.inPlaceLength(pieces)
    }
}

/// A secret's sealed value for one environment with the associated data that opens it, found when a snapshot is
/// built, so that injecting it costs one decryption and no lookups. A class, like `InjectedHeader`: the request path
/// reads it through the plan, and a copy of the secret's record would retain each of its strings.
public final class PreparedSecret: Sendable {
    public let secret: Secret
    package let ciphertext: [UInt8]
    package let associatedData: [UInt8]

    init(secret: Secret, ciphertext: [UInt8], associatedData: [UInt8]) {
        self.secret = secret
        self.ciphertext = ciphertext
        self.associatedData = associatedData
    }

    /// The opened value's length in bytes (nil when the ciphertext is too short to open).
    public var valueLength: Int? { SecretSealer.valueLength(sealedCount: ciphertext.count) }
}
