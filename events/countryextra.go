package events

// Kosovo has no ISO 3166-1 code. XK is a user-assigned code (ISO 3166-1
// leaves XA–XZ to its users) in wide use, by the European Union and the
// IMF among others, and engagements in Pristina are recorded with it. The
// tz database gives Kosovo no zone of its own; its clocks are Belgrade's.
func init() {
	countries["XK"] = country{"Kosovo", "Europe/Belgrade"}
	countryAlternatives["XK"] = []string{"XKX", "Republic of Kosovo"}
}

// countryShortNames are names in everyday English use that ISO 3166-1 does
// not give (Russia, not the Russian Federation), for suggestions only: a
// code field still takes the code.
var countryShortNames = map[string][]string{
	"BO": {"Bolivia"},
	"BN": {"Brunei"},
	"CD": {"Democratic Republic of the Congo", "DR Congo", "DRC", "Congo-Kinshasa"},
	"CG": {"Republic of the Congo", "Congo-Brazzaville"},
	"CI": {"Ivory Coast", "Cote d'Ivoire"},
	"CV": {"Cape Verde"},
	"CZ": {"Czech Republic"},
	"FM": {"Micronesia"},
	"GB": {"UK", "Great Britain", "Britain"},
	"IR": {"Iran"},
	"KP": {"North Korea", "DPRK"},
	"KR": {"South Korea", "Korea"},
	"LA": {"Laos"},
	"MD": {"Moldova"},
	"MK": {"Macedonia", "FYROM"},
	"MM": {"Burma"},
	"PS": {"Palestine"},
	"RU": {"Russia"},
	"SY": {"Syria"},
	"SZ": {"Swaziland"},
	"TR": {"Turkey", "Turkiye"},
	"TW": {"Taiwan"},
	"TZ": {"Tanzania"},
	"US": {"USA", "America", "United States of America"},
	"VA": {"Vatican", "Vatican City", "Holy See"},
	"VE": {"Venezuela"},
	"VN": {"Viet Nam"},
}
