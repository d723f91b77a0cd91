// Package projections folds the event stream into the SQLite read model and
// answers the queries everything else uses: the API's lists, the calendar
// feed and the notifier's sweeps. Readers get an engagement as one typed
// view (Engagement), decoded and labelled here once.
//
// The read model is a disposable cache. Every row is derived from the stream,
// and the stream position a row reflects is stored in the same transaction
// as the row, so a crash neither loses nor applies an event twice. It must
// never be written from anywhere but the projector, and never depend on HTTP.
package projections
