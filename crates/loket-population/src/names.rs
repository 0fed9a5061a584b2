//! Word lists for plausible, fictional Dutch residents and streets.

/// First names by the decade people were born in (women, men): fashions change.
pub(crate) const FIRST_NAMES: &[(i32, &[&str], &[&str])] = &[
    (
        1930,
        &[
            "Maria",
            "Johanna",
            "Cornelia",
            "Elisabeth",
            "Hendrika",
            "Wilhelmina",
            "Anna",
            "Geertruida",
        ],
        &[
            "Johannes", "Cornelis", "Hendrik", "Jan", "Willem", "Gerrit", "Pieter", "Jacobus",
        ],
    ),
    (
        1950,
        &[
            "Maria",
            "Anna",
            "Johanna",
            "Elisabeth",
            "Wilhelmina",
            "Gerda",
            "Ria",
            "Joke",
        ],
        &[
            "Johannes", "Jan", "Cornelis", "Hendrik", "Gerrit", "Pieter", "Kees", "Henk",
        ],
    ),
    (
        1960,
        &[
            "Maria",
            "Anja",
            "Monique",
            "Ingrid",
            "Marian",
            "Petra",
            "Annemieke",
            "Carla",
        ],
        &[
            "Johannes", "Peter", "Hans", "Jan", "Gerard", "Ronald", "Marcel", "Rob",
        ],
    ),
    (
        1970,
        &[
            "Sandra", "Linda", "Monique", "Marieke", "Esther", "Saskia", "Yvonne", "Karin",
        ],
        &[
            "Mark", "Marco", "Erik", "Patrick", "Dennis", "Michel", "Jeroen", "Richard",
        ],
    ),
    (
        1980,
        &[
            "Linda", "Marloes", "Kim", "Sanne", "Mirjam", "Nicole", "Esther", "Anouk",
        ],
        &[
            "Jeroen", "Martijn", "Dennis", "Bas", "Niels", "Remco", "Thomas", "Rick",
        ],
    ),
    (
        1990,
        &[
            "Laura", "Lisa", "Kim", "Sanne", "Anne", "Fleur", "Samira", "Iris",
        ],
        &[
            "Tim", "Kevin", "Thomas", "Niels", "Mohamed", "Stefan", "Bram", "Daan",
        ],
    ),
    (
        2000,
        &[
            "Lisa", "Sophie", "Emma", "Anna", "Fleur", "Yasmina", "Lotte", "Eva",
        ],
        &[
            "Daan", "Thomas", "Lucas", "Milan", "Sem", "Jesse", "Mohammed", "Bram",
        ],
    ),
    (
        2010,
        &[
            "Emma", "Sophie", "Julia", "Tess", "Zoë", "Nora", "Fenna", "Sara",
        ],
        &[
            "Noah", "Sem", "Lucas", "Liam", "Finn", "Levi", "Adam", "Luuk",
        ],
    ),
    (
        2020,
        &[
            "Emma", "Julia", "Mila", "Olivia", "Yara", "Nora", "Liv", "Noor",
        ],
        &[
            "Noah", "Luca", "Liam", "Mees", "Sem", "Daan", "Finn", "Mohammed",
        ],
    ),
];

/// Surnames with their voorvoegsel, roughly in order of how common they are.
pub(crate) const SURNAMES: &[(Option<&str>, &str)] = &[
    (Some("de"), "Jong"),
    (None, "Jansen"),
    (Some("de"), "Vries"),
    (Some("van den"), "Berg"),
    (Some("van"), "Dijk"),
    (None, "Bakker"),
    (None, "Janssen"),
    (None, "Visser"),
    (None, "Smit"),
    (None, "Meijer"),
    (Some("de"), "Boer"),
    (None, "Mulder"),
    (Some("de"), "Groot"),
    (None, "Bos"),
    (None, "Vos"),
    (None, "Peters"),
    (None, "Hendriks"),
    (Some("van"), "Leeuwen"),
    (None, "Dekker"),
    (None, "Brouwer"),
    (Some("de"), "Wit"),
    (None, "Dijkstra"),
    (None, "Smits"),
    (Some("de"), "Graaf"),
    (Some("van der"), "Meer"),
    (Some("van der"), "Linden"),
    (None, "Kok"),
    (None, "Jacobs"),
    (Some("de"), "Haan"),
    (None, "Vermeulen"),
    (Some("van den"), "Heuvel"),
    (Some("van der"), "Veen"),
    (Some("van den"), "Broek"),
    (Some("de"), "Bruijn"),
    (Some("van der"), "Heijden"),
    (None, "Schouten"),
    (Some("van"), "Beek"),
    (None, "Willems"),
    (Some("van"), "Vliet"),
    (Some("van de"), "Ven"),
    (None, "Hoekstra"),
    (None, "Maas"),
    (None, "Verhoeven"),
    (None, "Koster"),
    (Some("van"), "Dam"),
    (Some("van der"), "Wal"),
    (None, "Prins"),
    (None, "Blom"),
    (None, "Huisman"),
    (Some("de"), "Jonge"),
    (None, "Kuipers"),
    (None, "Postma"),
    (None, "Kramer"),
    (None, "Scholten"),
    (Some("van"), "Wijk"),
    (None, "Vink"),
    (Some("de"), "Ruiter"),
    (None, "Groen"),
    (None, "Yılmaz"),
    (None, "El Amrani"),
    (None, "Öztürk"),
    (None, "Nguyen"),
    (None, "Ramdin"),
    (None, "Kaya"),
    (None, "Bouzid"),
    (None, "Şahin"),
    (None, "Mohan"),
    (None, "Kowalski"),
    (None, "Dos Santos"),
    (None, "Ahmadi"),
    (Some("ter"), "Horst"),
    (Some("in 't"), "Veld"),
    (Some("van 't"), "Hof"),
    (None, "Martens"),
    (None, "Timmermans"),
];

pub(crate) const STREET_STEMS: &[&str] = &[
    "Kerk",
    "School",
    "Molen",
    "Dorps",
    "Stations",
    "Juliana",
    "Beatrix",
    "Wilhelmina",
    "Eiken",
    "Berken",
    "Linden",
    "Beuken",
    "Merel",
    "Lijster",
    "Tulp",
    "Roos",
    "Iris",
    "Haven",
    "Dijk",
    "Markt",
    "Brink",
    "Raadhuis",
    "Kastanje",
    "Esdoorn",
    "Wilgen",
    "Populieren",
    "Zwaluw",
    "Specht",
    "Lelie",
    "Narcis",
    "Anjer",
    "Hyacint",
    "Zonnebloem",
    "Rembrandt",
    "Vermeer",
    "Mondriaan",
    "Erasmus",
    "Spinoza",
    "Thorbecke",
    "Oranje",
    "Nassau",
    "Prinses",
    "Koning",
];

pub(crate) const STREET_KINDS: &[&str] = &[
    "straat", "laan", "weg", "plein", "singel", "hof", "kade", "park",
];

/// The Netherlands' age pyramid in ten-year bands (share of the population, per mille).
pub(crate) const AGE_BANDS: &[(u32, u32)] = &[
    (0, 100),
    (10, 110),
    (20, 125),
    (30, 130),
    (40, 120),
    (50, 140),
    (60, 125),
    (70, 95),
    (80, 45),
    (90, 10),
];

/// Makes and models often seen on Dutch roads; `true` for fully electric models.
pub(crate) const CARS: &[(&str, &[(&str, bool)])] = &[
    (
        "VOLKSWAGEN",
        &[
            ("POLO", false),
            ("GOLF", false),
            ("UP!", false),
            ("ID.3", true),
        ],
    ),
    ("KIA", &[("PICANTO", false), ("NIRO", false), ("EV6", true)]),
    (
        "TOYOTA",
        &[("YARIS", false), ("AYGO X", false), ("COROLLA", false)],
    ),
    (
        "PEUGEOT",
        &[("208", false), ("2008", false), ("E-208", true)],
    ),
    (
        "RENAULT",
        &[("CLIO", false), ("MEGANE", false), ("ZOE", true)],
    ),
    ("OPEL", &[("CORSA", false), ("ASTRA", false)]),
    (
        "SKODA",
        &[("FABIA", false), ("OCTAVIA", false), ("ENYAQ", true)],
    ),
    (
        "FORD",
        &[("FIESTA", false), ("FOCUS", false), ("KUGA", false)],
    ),
    ("TESLA", &[("MODEL 3", true), ("MODEL Y", true)]),
    ("VOLVO", &[("V60", false), ("XC40", false)]),
    ("HYUNDAI", &[("I10", false), ("KONA", false)]),
    ("CITROEN", &[("C1", false), ("C3", false)]),
];

use loket_registers::duo::Niveau;

/// Fictional schools and institutions with BRIN-like codes.
pub(crate) const INSTELLINGEN: &[(&str, &str, Niveau)] = &[
    ("14XA", "Stedelijk Gymnasium", Niveau::Vo),
    ("17QB", "Het Voorbeeld Lyceum", Niveau::Vo),
    ("19KC", "Scholengemeenschap De Horizon", Niveau::Vo),
    ("25LZ", "ROC Midden", Niveau::Mbo),
    ("25MX", "Vakcollege Noord", Niveau::Mbo),
    ("21PB", "Hogeschool Noord", Niveau::Hbo),
    ("22OJ", "Hogeschool voor Techniek en Zorg", Niveau::Hbo),
    ("21PD", "Universiteit van Voorbeeldstad", Niveau::Wo),
];

/// Programmes with CREBO/CROHO-like codes.
pub(crate) const OPLEIDINGEN: &[(&str, &str, Niveau)] = &[
    ("VWO", "vwo", Niveau::Vo),
    ("HAVO", "havo", Niveau::Vo),
    ("VMBO", "vmbo", Niveau::Vo),
    ("25180", "Verzorgende IG", Niveau::Mbo),
    ("25604", "Software developer", Niveau::Mbo),
    ("25655", "Mbo-Verpleegkundige", Niveau::Mbo),
    ("34607", "Verpleegkunde", Niveau::Hbo),
    ("34035", "Commerciële Economie", Niveau::Hbo),
    ("30020", "HBO-ICT", Niveau::Hbo),
    ("56827", "Rechtsgeleerdheid", Niveau::Wo),
    ("50206", "Psychologie", Niveau::Wo),
    ("56604", "Geneeskunde", Niveau::Wo),
];
