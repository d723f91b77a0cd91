package notifier

import "github.com/chancery/chancery/projections"

// Engagement is a meeting or a visit as alerts speak of it: the read
// model's view, the same the calendar feeds show, so that an alert and a
// feed word an engagement alike. Its JSON form is an alert's
// data.engagement.
type Engagement = projections.Engagement
