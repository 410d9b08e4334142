// Package validate checks faultline's deployment artefacts (dashboards/,
// deploy/) against the real things they describe. It is its own Go module
// so that the validators' heavy dependencies stay out of the product's go.mod.
package validate
