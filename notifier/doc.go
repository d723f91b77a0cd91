// Package notifier decides which alerts are due (reminders before talks,
// digests, change alerts), queues them in NATS so that each is delivered
// once across replicas, and delivers them by email and chat channels, on
// schedules driven by github.com/robfig/cron/v3.
//
// It reads the read model and the event stream; it never appends events.
package notifier
