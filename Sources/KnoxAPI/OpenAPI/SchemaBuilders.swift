import KnoxCore

/// The schema builders, by the short name the catalogue uses.
typealias S = JSONSchema
