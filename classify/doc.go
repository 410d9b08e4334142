// Package classify turns one integration log record into a canonical
// classification: which provider answered, whether the call failed, the
// provider's own code, its category in faultline's taxonomy, the provider's
// request identifier for escalations, a templated endpoint and a stable
// fingerprint for grouping. It also redacts what will be stored.
//
// The package is pure: no I/O, no logging, no metrics. Provider catalogs are
// embedded data, loaded and validated once.
package classify
