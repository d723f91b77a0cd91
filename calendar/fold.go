package calendar

// foldLimit is the longest physical line RFC 5545 §3.1 allows, in octets,
// not counting the CRLF that ends it.
const foldLimit = 75
