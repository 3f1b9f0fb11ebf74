"""The domains of the long-document generator (long_docs.py): six report-like documents, each a chain of
three nested lists of objects, with the sentences that state every value.

Why separate: the vocabulary is data (reviewed line by line), the generator is logic. The domains and their
key vocabularies are deliberately absent from domain_catalog.py (no organisation charts, tour itineraries,
plant catalogues, clinical trial sites, housing condition surveys or regatta results there), so rows built
from them are an out-of-distribution split for any adapter trained on the main synthesis.

Sentence templates: ``{n}`` is the name of the item the sentence is about, ``{v}`` the value; a group
(a nested object) names its members by their key words (``{city}``); a boolean has two sentences, for
true and for false. Value generators (``gen``) are those of instances.py, plus a few of long_docs.py:
``seq`` (1, 2, 3 in list order), ``seqdate`` (consecutive ISO dates), ``time`` (HH:MM), ``vocab:NAME``
(a distinct pick from VOCAB[NAME]) and ``list:NAME`` (an array of 2-4 distinct strings from VOCAB[NAME]).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Leaf", "Group", "Level", "LongDomain", "VOCAB", "LONG_DOMAINS"]


@dataclass(frozen=True)
class Leaf:
    """One scalar (or string-array) field and the sentences that state it."""

    words: str
    """Label words; the JSON key is these words in the row's naming style."""
    gen: str
    says: tuple[str, ...]
    """Sentence templates (for ``bool``: the sentence when true, then when false)."""
    desc: str = ""
    """Schema description (emitted on some rows)."""
    optional: bool = False
    """Not required by the schema; present in about 60% of items, never mentioned when absent."""


@dataclass(frozen=True)
class Group:
    """A nested object of a few leaves, stated in one sentence (one level deeper than its item)."""

    words: str
    leaves: tuple[Leaf, ...]
    says: tuple[str, ...]
    desc: str = ""


@dataclass(frozen=True)
class Level:
    """One list of objects: its key, the naming leaf, the other leaves, and one extra that nests deeper."""

    words: str
    """Label words of the array key (plural)."""
    name: Leaf
    """The field that names each item (distinct within the list, stated first)."""
    leaves: tuple[Leaf, ...]
    extra: Leaf | Group
    """A string array or a nested object: one level deeper than the item."""
    listing: tuple[str, ...]
    """Sentences introducing the list under a parent item: ``{n}`` the parent's name, ``{k}`` the count (at the
    top level the generator writes its own: "The report lists 3 departments.")."""
    desc: str = ""
    it: bool = True
    """Whether later sentences may call an item "it" (not for people, nor for plural names)."""


@dataclass(frozen=True)
class LongDomain:
    """A document kind: the root fields (stated in the opening paragraph) and a chain of three levels."""

    name: str
    title: str
    desc: str
    noun: str
    """What the document calls itself ("report"), for the sentence that opens its top-level list."""
    root: tuple[Leaf, ...]
    """Root fields; the first one names the document (``{n}`` at the top level)."""
    levels: tuple[Level, Level, Level]
    closing: tuple[str, ...]
    """Closing sentences that state no value (realism, and text the model must skip)."""
    asides: tuple[str, ...] = ()
    """Background sentences that state no value, mixed into the paragraphs (reports are not only data)."""


VOCAB: dict[str, tuple[str, ...]] = {
    "department": ("Finance", "Research and Development", "Customer Operations", "Legal Affairs", "Procurement",
                   "Data Science", "Facilities", "Corporate Communications", "Risk Management", "People and Culture",
                   "Platform Engineering", "Sales Enablement", "Internal Audit", "Quality Assurance"),
    "team": ("Payments Core", "Mobile Apps", "Treasury", "Data Platform", "Field Service", "Tax Reporting",
             "Brand Studio", "Vendor Management", "Search Quality", "Workplace Safety", "Billing",
             "Analytics Engineering", "Talent Acquisition", "Infrastructure", "Compliance Monitoring",
             "Customer Onboarding", "Pricing", "Identity and Access"),
    "role": ("staff engineer", "product designer", "financial analyst", "team lead", "data engineer",
             "procurement specialist", "paralegal", "site reliability engineer", "content strategist",
             "account manager", "quality inspector", "research scientist", "payroll officer", "security analyst"),
    "tool": ("Jira", "Figma", "Tableau", "Kubernetes", "Salesforce", "SAP", "Notion", "GitLab", "Snowflake",
             "Zendesk", "Airtable", "Grafana", "Miro", "Looker"),
    "skill": ("negotiation", "SQL", "public speaking", "Rust", "financial modelling", "UX research",
              "contract drafting", "incident response", "Spanish", "people management", "statistics",
              "technical writing", "Terraform", "forecasting", "Mandarin", "data visualisation"),
    "theme": ("old town walking", "wine country", "island hopping", "mountain passes", "markets and street food",
              "museums and galleries", "coastal cycling", "free exploration", "castles and fortresses",
              "lakes and waterfalls", "local crafts"),
    "landmark_kind": ("Gallery", "Botanical Garden", "Lighthouse", "Abbey", "Market Hall", "Observatory",
                      "Winery", "Fortress", "Maritime Museum", "Sculpture Park", "Tea House", "Bridge"),
    "meal": ("breakfast", "lunch", "dinner", "picnic lunch", "afternoon tea", "tasting menu"),
    "category": ("Perennials", "Climbers", "Fruit Trees", "Ornamental Grasses", "Ferns", "Succulents",
                 "Culinary Herbs", "Hedging Shrubs", "Aquatic Plants", "Spring Bulbs", "Shrub Roses", "Alpines"),
    "situation": ("full sun", "partial shade", "deep shade", "coastal gardens", "containers", "rock gardens",
                  "damp soil", "north-facing walls", "clay soil", "pollinator borders"),
    "genus": ("Salvia", "Clematis", "Hosta", "Lavandula", "Miscanthus", "Echinacea", "Heuchera", "Geranium",
              "Hydrangea", "Sedum", "Astrantia", "Penstemon", "Camellia", "Digitalis"),
    "cultivar": ("Midnight Ember", "Silver Cascade", "Harbour Mist", "Copper Lantern", "Moonlit Tide",
                 "Velvet Dusk", "Amber Glow", "Frosted Plum", "Northern Star", "Ruby Thimble", "Pale Comet",
                 "Little Orchard", "Summer Tapestry", "Blue Heron"),
    "flower_colour": ("deep violet", "pale pink", "creamy white", "burnt orange", "lemon yellow", "crimson",
                      "sky blue", "apricot", "magenta", "lilac"),
    "pot": ("9 cm pot", "1 litre pot", "2 litre pot", "3 litre pot", "5 litre pot", "10 litre pot",
            "bare root", "plug tray of 12", "hanging basket"),
    "delivery": ("courier", "click and collect", "pallet delivery", "standard post", "same-day van"),
    "site_kind": ("General Hospital", "University Clinic", "Research Institute", "Medical Centre",
                  "Community Health Centre", "Cancer Centre"),
    "criterion": ("age 18 to 65", "BMI under 35", "no prior chemotherapy", "stable kidney function", "non-smoker",
                  "signed informed consent", "HbA1c above 7 percent", "no pregnancy", "resting heart rate under 100",
                  "no anticoagulants"),
    "visit": ("Screening", "Baseline", "Week 2", "Week 4", "Week 8", "Week 12", "Week 24", "Follow-up",
              "End of Treatment"),
    "procedure": ("blood draw", "ECG", "vital signs", "urine sample", "MRI scan", "quality of life questionnaire",
                  "skin biopsy", "eye exam", "lung function test", "pharmacokinetic sampling"),
    "building_kind": ("House", "Court", "Terrace", "Mansions", "Lofts", "Gardens", "Tower"),
    "amenity": ("balcony", "storage cellar", "bike room access", "lift access", "private garden", "fireplace",
                "roof terrace", "laundry room", "underfloor heating"),
    "room": ("kitchen", "living room", "main bedroom", "second bedroom", "bathroom", "study", "hallway",
             "utility room", "dining room", "guest toilet"),
    "defect": ("damp patch", "cracked tile", "loose handrail", "draughty window", "worn flooring", "faulty socket",
               "mould on the ceiling", "sticking door", "leaking tap", "peeling paint"),
    "regatta": ("Autumn Cup", "Spring Regatta", "Harbour Series", "Midsummer Trophy", "Winter Frostbite Series",
                "Founders Cup"),
    "mark": ("Gull Rock", "North Cardinal", "Harbour Buoy", "Spit Beacon", "Fairway Mark", "Outer Pile",
             "Castle Point", "Seal Ledge", "Windmill Buoy"),
    "boat": ("Silver Tern", "Blue Heron", "Quiet Storm", "Saltwater Gypsy", "Red Kite", "Morning Glory",
             "Wild Oats", "Sea Sprite", "Half Moon", "Northern Light", "Tidal Dancer", "Black Swan"),
    "certificate": ("Day Skipper", "First Aid at Sea", "VHF Radio Operator", "Yachtmaster Offshore", "Sea Survival",
                    "Powerboat Level 2", "Race Officer"),
}


def _b(true: str, false: str) -> tuple[str, str]:
    return (true, false)


_ORG = LongDomain(
    "organisation_report", "Organisation report",
    "The structure of a company as its annual organisation report describes it.", "report",
    root=(Leaf("company name", "company", ("{v} has published its annual organisation report.",),
               "Legal name of the company"),
          Leaf("fiscal year", "int:2019:2026", ("The report covers fiscal year {v}.",), "Fiscal year the report covers"),
          Leaf("headquarters city", "city", ("The company is headquartered in {v}.", "Its head office is in {v}.")),
          Leaf("total headcount", "int:80:5000", ("At the close of the year the company employed {v} people.",),
               "Employees at the end of the year", optional=True)),
    levels=(
        Level("departments",
              Leaf("department name", "vocab:department", ("The {v} department is the first we look at in detail.",
                                                           "Next comes the {v} department.")),
              (Leaf("head of department", "person", ("{n} is headed by {v}.", "{v} leads {n}.")),
               Leaf("annual budget usd", "int:50000:4000000", ("Its annual budget is {v} US dollars.",),
                    "Approved budget in US dollars"),
               Leaf("cost center", "code:CC-####", ("Its costs are booked to cost center {v}.",), optional=True)),
              Group("office", (Leaf("city", "city", ()), Leaf("floor", "int:1:30", ())),
                    ("{n} works out of the {city} office, on floor {floor}.",
                     "The department occupies floor {floor} of the building in {city}."), "Where the department sits"),
              ("{n} is organised into {k} departments.", "The company has {k} departments."),
              "Departments of the company"),
        Level("teams",
              Leaf("team name", "vocab:team", ("Then there is the {v} team.", "Another team is {v}.")),
              (Leaf("focus", "enum:product|operations|research|support|compliance",
                    ("The focus of {n} is {v}.", "{n} works mainly on {v}."), "Main kind of work"),
               Leaf("fully remote", "bool", _b("{n} works fully remote.", "{n} works on site."),
                    "Whether the team works remotely"),
               Leaf("year formed", "int:2005:2025", ("{n} was formed in {v}.",), optional=True)),
              Leaf("tools", "list:tool", ("{n} relies on {v}.", "Day to day, {n} uses {v}."), "Software the team uses"),
              ("{n} has {k} teams.", "There are {k} teams in {n}."), "Teams within the department"),
        Level("members",
              Leaf("full name", "person", ("{v} is a member.", "{v} is also on the staff.")),
              (Leaf("role", "vocab:role", ("{n} works as a {v}.", "{n} is the {v}.")),
               Leaf("years of service", "int:1:30", ("{n} has been with the company for {v} years.",)),
               Leaf("employment type", "enum:full-time|part-time|contractor",
                    ("{n}'s employment type is {v}.", "{n} is listed as {v}."))),
              Leaf("skills", "list:skill", ("{n} lists {v} as core skills.", "{n} brings skills in {v}.")),
              ("{n} has {k} members.", "{k} people work in {n}."), "People in the team", it=False)),
    closing=("The figures were compiled by the finance office and have not been audited.",
             "Changes made after the reporting date will appear in next year's edition."),
    asides=("Several reporting lines changed during the year as part of the reorganisation.",
            "Hiring slowed in the second half while the leadership reviewed priorities.",
            "Staff surveys point to better collaboration between offices than a year ago.",
            "Contractors are counted in the team they spend most of their time with.",
            "The board asked for a clearer view of who owns each internal system.",
            "Budgets shown here exclude one-off restructuring costs.",
            "Cross-team projects are listed under the team that leads them.",
            "Training hours rose again, mostly thanks to the internal mentoring programme."))

_TOUR = LongDomain(
    "tour_itinerary", "Tour itinerary", "A guided multi-day tour: its days, the stops of each day, their bookings.",
    "itinerary",
    root=(Leaf("tour name", "tourname", ("This is the final itinerary for the {v}.",), "Name of the tour"),
          Leaf("operator", "company", ("The tour is run by {v}.",), "Company operating the tour"),
          Leaf("group size", "int:4:40", ("The group has {v} travellers.",)),
          Leaf("tour leader", "person", ("Your tour leader is {v}.",), optional=True)),
    levels=(
        Level("days",
              Leaf("day number", "seq", ("Day {v}.",)),
              (Leaf("date", "seqdate", ("Day {n} falls on {v}.",), "ISO date of the day"),
               Leaf("theme", "vocab:theme", ("Day {n} is dedicated to {v}.", "The theme of day {n} is {v}.")),
               Leaf("overnight city", "city", ("That night the group stays in {v}.",), optional=True)),
              Leaf("included meals", "list:meal", ("Included meals on day {n}: {v}.",), "Meals the price includes"),
              ("{n} runs over {k} days.", "The tour lasts {k} days."), "Days of the tour"),
        Level("stops",
              Leaf("place", "landmark", ("The group visits the {v}.", "Next stop is the {v}.")),
              (Leaf("arrival time", "time", ("Arrival at the {n} is planned for {v}.",), "Local time, HH:MM"),
               Leaf("duration minutes", "int:20:240", ("About {v} minutes are spent at the {n}.",)),
               Leaf("transport", "enum:coach|ferry|train|bicycle|tram", ("The {n} is reached by {v}.",),
                    "How the group gets there")),
              Group("address", (Leaf("street", "street", ()), Leaf("postal code", "zip", ())),
                    ("The {n} is at {street}, postal code {postal code}.",
                     "You will find the {n} at {street} ({postal code})."), "Street address of the stop"),
              ("{k} stops are planned for day {n}.", "The day has {k} stops."), "Stops in visiting order"),
        Level("bookings",
              Leaf("reference", "code:BK-#####", ("Booking {v} is listed.", "There is also booking {v}.")),
              (Leaf("kind", "enum:entry ticket|guided tour|dinner reservation|boat charter|workshop",
                    ("Booking {n} is a {v}.",)),
               Leaf("price eur", "money:8:400", ("Booking {n} costs {v} euros.",), "Price in euros"),
               Leaf("confirmed", "bool", _b("Booking {n} is already confirmed.",
                                            "Booking {n} is still awaiting confirmation."))),
              Leaf("guests", "list:person", ("Booking {n} is made for {v}.",), "Names on the booking"),
              ("There are {k} bookings for the {n}.", "{k} bookings cover the {n}."), "Bookings at the stop")),
    closing=("Times are local and may shift with traffic or weather.",
             "Please keep this itinerary with your travel documents."),
    asides=("Comfortable walking shoes are strongly recommended for the whole trip.",
            "Luggage is transferred separately, so keep a small day bag with you.",
            "Some sites close early on public holidays, in which case the order may change.",
            "Vegetarian and gluten-free meals can be arranged with a day's notice.",
            "Tipping is at your discretion and never included in the prices below.",
            "Mobile coverage can be patchy in the countryside.",
            "Your guide will confirm the meeting point each evening.",
            "Entry tickets are issued at the door and cannot be exchanged."))

_NURSERY = LongDomain(
    "plant_catalogue", "Nursery plant catalogue", "A plant nursery's catalogue: categories, plants, pot sizes.",
    "catalogue",
    root=(Leaf("nursery name", "company", ("Welcome to the catalogue of {v}.",), "Trading name of the nursery"),
          Leaf("season", "enum:spring|summer|autumn|winter", ("This is our {v} edition.",)),
          Leaf("catalogue year", "int:2024:2027", ("Prices are valid for {v}.",)),
          Leaf("order phone", "phone", ("Orders are taken by phone on {v}.",), optional=True)),
    levels=(
        Level("categories",
              Leaf("category name", "vocab:category", ("Our {v} section.", "Turning to {v}.")),
              (Leaf("aisle", "int:1:40", ("{n} are displayed in aisle {v}.",), "Aisle number in the garden centre"),
               Leaf("discount percent", "int:5:30", ("All {n} are {v} percent off this season.",), optional=True)),
              Leaf("suited to", "list:situation", ("{n} suit {v}.", "Choose {n} for {v}."), "Garden situations"),
              ("{n} offers {k} categories this season.", "The catalogue has {k} categories."), "Plant categories",
              it=False),
        Level("plants",
              Leaf("plant name", "cultivar", ("{v} is listed here.", "We also grow {v}.")),
              (Leaf("height cm", "int:10:400", ("{n} grows to about {v} cm.",), "Mature height in centimetres"),
               Leaf("frost hardy", "bool", _b("{n} is fully frost hardy.", "{n} needs protection from frost.")),
               Leaf("flower colour", "vocab:flower_colour", ("{n} flowers in {v}.",), optional=True)),
              Group("care", (Leaf("light", "enum:full sun|partial shade|shade", ()),
                             Leaf("watering", "enum:low|moderate|high", ())),
                    ("{n} prefers {light} and needs {watering} watering.",
                     "Give {n} {light} and {watering} watering."), "Care requirements"),
              ("{k} plants are offered among the {n}.", "{n} includes {k} plants."), "Plants in the category"),
        Level("variants",
              Leaf("size", "vocab:pot", ("It is sold as a {v}.", "A {v} is available.")),
              (Leaf("sku", "code:PL-####-?", ("The {n} has SKU {v}.",), "Stock keeping unit"),
               Leaf("price", "money:2:120", ("The {n} costs {v} dollars.",), "Price in US dollars"),
               Leaf("in stock", "int:0:500", ("We have {v} of the {n} in stock.",))),
              Leaf("delivery options", "list:delivery", ("The {n} ships by {v}.",), "How it can be delivered"),
              ("{n} comes in {k} sizes.", "There are {k} sizes of {n}."), "Sizes on sale")),
    closing=("Plants are grown without peat wherever we can.", "Stock changes daily, so please call ahead."),
    asides=("All our plants are raised on site from seed or cuttings.",
            "Heights are given for established plants in good soil and may vary.",
            "Larger pots establish faster but smaller ones are easier to post.",
            "Ask our staff about companion planting if you are planning a new border.",
            "Plants are watered daily in the sales area and checked for pests every week.",
            "Prices include the pot but not the compost or any plant supports.",
            "Returns are accepted within a fortnight if a plant arrives damaged."))

_TRIAL = LongDomain(
    "clinical_trial", "Clinical trial status report", "A multi-site trial: its sites, their cohorts, the visits.",
    "status report",
    root=(Leaf("study code", "code:STUDY-###-?", ("This status report covers study {v}.",), "Protocol number"),
          Leaf("sponsor", "company", ("The sponsor is {v}.",)),
          Leaf("phase", "enum:I|II|III|IV", ("It is a phase {v} trial.",), "Trial phase"),
          Leaf("target enrolment", "int:60:2000", ("The target enrolment is {v} participants.",), optional=True)),
    levels=(
        Level("sites",
              Leaf("site name", "site", ("The {v} takes part.", "Another site is the {v}.")),
              (Leaf("country", "country", ("The {n} is in {v}.",)),
               Leaf("activation date", "date:recent", ("The {n} was activated on {v}.",), "ISO date"),
               Leaf("status", "enum:recruiting|active|paused|closed", ("The {n} is currently {v}.",))),
              Group("principal investigator", (Leaf("name", "person", ()), Leaf("phone", "phone", ())),
                    ("The principal investigator at the {n} is {name}, reachable on {phone}.",),
                    "Who runs the site"),
              ("{n} runs at {k} sites.", "{k} sites take part in {n}."), "Participating sites"),
        Level("cohorts",
              Leaf("cohort label", "vocab:cohort", ("{v} is enrolled.", "Next is {v}.")),
              (Leaf("arm", "enum:placebo|active|open label", ("{n} is in the {v} arm.",), "Treatment arm"),
               Leaf("dose mg", "int:5:800", ("{n} receives {v} mg per day.",), "Daily dose in milligrams"),
               Leaf("participants", "int:8:120", ("{n} has {v} participants.",))),
              Leaf("inclusion criteria", "list:criterion", ("Inclusion criteria for {n}: {v}.",)),
              ("The {n} has {k} cohorts.", "There are {k} cohorts at the {n}."), "Cohorts at the site"),
        Level("visits",
              Leaf("visit name", "vocab:visit", ("The {v} visit is scheduled.", "Then comes the {v} visit.")),
              (Leaf("study day", "int:0:365", ("The {n} visit is on study day {v}.",)),
               Leaf("fasting required", "bool", _b("The {n} visit requires fasting.",
                                                   "The {n} visit does not require fasting.")),
               Leaf("window days", "int:1:7", ("The {n} visit has a window of {v} days.",), optional=True)),
              Leaf("procedures", "list:procedure", ("The {n} visit includes {v}.",)),
              ("{n} has {k} visits.", "Participants in {n} attend {k} visits."), "Scheduled visits")),
    closing=("No serious adverse events were reported in this period.",
             "This report is confidential and intended for the steering committee."),
    asides=("Recruitment was slower than planned over the holiday period.",
            "Monitoring visits found the source documents complete and well organised.",
            "The data safety monitoring board met once and raised no concerns.",
            "Protocol deviations were minor and have been reported to the ethics committee.",
            "Drug supply remains sufficient for the coming quarter at every location.",
            "Visit schedules follow the latest protocol amendment.",
            "Screening failures were mostly due to laboratory values out of range."))

_HOUSING = LongDomain(
    "housing_survey", "Housing condition survey", "A housing cooperative's condition survey: buildings, flats, rooms.",
    "survey",
    root=(Leaf("cooperative", "cooperative", ("This condition survey was carried out for the {v}.",)),
          Leaf("survey date", "date:recent", ("The inspection took place on {v}.",), "ISO date of the inspection"),
          Leaf("surveyor", "person", ("The surveyor was {v}.",)),
          Leaf("reference", "code:HS-####", ("Survey reference {v}.",), optional=True)),
    levels=(
        Level("buildings",
              Leaf("building name", "building", ("{v} was inspected.", "The survey then covered {v}.")),
              (Leaf("year built", "int:1890:2020", ("{n} was built in {v}.",)),
               Leaf("storeys", "int:2:14", ("{n} has {v} storeys.",)),
               Leaf("heating", "enum:district heating|gas boiler|heat pump|electric", ("{n} is heated by {v}.",))),
              Group("address", (Leaf("street", "street", ()), Leaf("postal code", "zip", ())),
                    ("{n} stands at {street}, {postal code}.",), "Street address"),
              ("The {n} owns {k} buildings.", "{k} buildings were surveyed."), "Buildings surveyed"),
        Level("flats",
              Leaf("flat number", "flat", ("{v} was visited.", "Inspectors also entered {v}.")),
              (Leaf("floor area m2", "int:28:160", ("{n} has a floor area of {v} square metres.",)),
               Leaf("occupied", "bool", _b("{n} is occupied.", "{n} is currently vacant.")),
               Leaf("monthly rent", "int:450:2600", ("The monthly rent of {n} is {v}.",), optional=True)),
              Leaf("amenities", "list:amenity", ("{n} has {v}.", "Amenities of {n}: {v}.")),
              ("In {n}, {k} flats were inspected.", "{n} contains {k} of the inspected flats."), "Flats inspected"),
        Level("rooms",
              Leaf("room", "vocab:room", ("In {v}:", "The {v} was checked.")),
              (Leaf("area m2", "num:3:40:1", ("The {n} measures {v} square metres.",)),
               Leaf("condition", "enum:good|fair|poor|needs renovation", ("The {n} is in {v} condition.",
                                                                          "Condition of the {n}: {v}.")),
               Leaf("windows", "int:0:4", ("The {n} has {v} windows.",))),
              Leaf("defects", "list:defect", ("Defects in the {n}: {v}.", "The {n} shows {v}.")),
              ("{k} rooms of {n} were checked.", "{n} has {k} rooms."), "Rooms checked")),
    closing=("Repairs will be prioritised at the next members' meeting.",
             "Photographs are kept in the cooperative's archive."),
    asides=("Access was arranged with the residents a week in advance.",
            "Common areas such as stairwells were only checked visually.",
            "Roofs and facades are covered by a separate report.",
            "Where residents were absent, the caretaker let the surveyor in.",
            "Minor cosmetic wear is not recorded as a defect.",
            "Measurements were taken with a laser meter and rounded.",
            "Residents were invited to point out any problems the surveyor might miss."))

_REGATTA = LongDomain(
    "regatta_results", "Regatta results", "A sailing regatta: its races, the boats in each race, their crews.",
    "results sheet",
    root=(Leaf("regatta name", "regatta", ("Here are the results of the {v}.",), "Name of the event"),
          Leaf("organising club", "club", ("The event was organised by the {v}.",)),
          Leaf("date", "date:recent", ("Racing took place on {v}.",), "ISO date"),
          Leaf("race officer", "person", ("{v} served as race officer.",), optional=True)),
    levels=(
        Level("races",
              Leaf("race number", "seq", ("Race {v}.",)),
              (Leaf("start time", "time", ("Race {n} started at {v}.",), "Local time, HH:MM"),
               Leaf("wind knots", "int:4:30", ("The wind in race {n} was {v} knots.",), "Average wind speed"),
               Leaf("course", "enum:windward-leeward|triangle|coastal|round the buoys",
                    ("Race {n} was sailed on a {v} course.",))),
              Leaf("marks", "list:mark", ("The course of race {n} rounded {v}.",), "Marks rounded"),
              ("{n} consisted of {k} races.", "{k} races were sailed."), "Races sailed"),
        Level("boats",
              Leaf("boat name", "vocab:boat", ("{v} raced.", "{v} was also on the line.")),
              (Leaf("sail number", "code:GBR ####", ("{n} carries sail number {v}.",)),
               Leaf("boat class", "enum:J/70|Laser|Dragon|Etchells|Melges 24|Squib", ("{n} is a {v}.",)),
               Leaf("finish position", "seq", ("{n} finished in position {v}.",)),
               Leaf("elapsed minutes", "int:35:180", ("{n} took {v} minutes.",), optional=True)),
              Group("owner", (Leaf("name", "person", ()), Leaf("home port", "city", ())),
                    ("{n} is owned by {name} and sails from {home port}.",), "Registered owner"),
              ("{k} boats finished race {n}.", "In race {n}, {k} boats finished."), "Boats in finishing order"),
        Level("crew",
              Leaf("sailor", "person", ("{v} sailed.", "{v} was also in the crew.")),
              (Leaf("position", "enum:helm|tactician|trimmer|bow|pit|navigator", ("{n} sailed as {v}.",)),
               Leaf("age", "int:16:70", ("{n} is {v} years old.",))),
              Leaf("certificates", "list:certificate", ("{n} holds {v}.",), "Sailing qualifications"),
              ("{n} had a crew of {k}.", "{k} sailors crewed {n}."), "Crew on board", it=False)),
    closing=("Protests must be lodged with the race office within one hour.",
             "Prize giving follows in the clubhouse."),
    asides=("Conditions were lively with a short, steep chop near the harbour entrance.",
            "The committee boat held station well despite the tide.",
            "One general recall was needed before a clean start.",
            "Spectator boats were asked to keep clear of the leeward gate.",
            "Thanks go to the volunteers who ran the safety boats all day.",
            "The tide turned midway through the afternoon, which reshuffled the fleet.",
            "Results are provisional until the protest time has expired."))

LONG_DOMAINS: tuple[LongDomain, ...] = (_ORG, _TOUR, _NURSERY, _TRIAL, _HOUSING, _REGATTA)
"""The six document kinds, in the order rows cycle through them."""

VOCAB["cohort"] = tuple(f"Cohort {c}" for c in "ABCDEF")
