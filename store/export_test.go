package store

// The lookup's statements, for tests that check their plans.
const (
	FindKeysSQL  = findKeysSQL
	FindEventSQL = findEventSQL
)

// ContextEventsQuery is the events query of AlertContext, for plan tests.
const ContextEventsQuery = contextEventsQuery
