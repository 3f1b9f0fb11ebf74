"""Domain vocabulary for schema synthesis, written in a tiny line-based DSL (parsed by domains.py).

Why a DSL: ~35 domains x ~12 fields is a lot of data; one line per field keeps it reviewable.

Syntax (one item per line, `#` comments, blank lines ignored):
  @ <domain> : <entity words>           start a domain
  % <object name>                       start a shared nested-object template
  key words | gen | description | alias1, alias2 | unit      a scalar field
  [] key words | gen | description | aliases                 an array of scalars (gen per element)
  {} key words / item words | description | aliases          an array of objects; its fields follow,
      indented by two spaces
  obj: name, name                       shared nested objects this domain may use
Generators (`gen`) are documented in instances.py.
"""

SHARED = r"""
% address
street | street | Street address including house number | street line, address line
city | city | City or town | town
postal code | zip | Postal or ZIP code | zip code, postcode
country | country | Country name | nation
% contact
full name | person | Full name of the contact person | name, contact name
email | email | Email address | e-mail, email address
phone | phone | Phone number | telephone, phone number
% dimensions
length | num:5:300:1 | Length in centimetres | len | cm
width | num:5:200:1 | Width in centimetres | breadth | cm
height | num:2:200:1 | Height in centimetres | tall | cm
weight | num:0.2:80:2 | Weight in kilograms | mass | kg
% location
latitude | num:-60:70:4 | Latitude in decimal degrees | lat
longitude | num:-170:170:4 | Longitude in decimal degrees | lon, lng
place name | city | Name of the place | place, locality
% payment
method | enum:credit_card|paypal|bank_transfer|cash|apple_pay | Payment method | payment type
amount | money:5:5000 | Amount paid | total paid, sum | USD
currency | enum:USD|EUR|GBP|JPY|CAD | ISO currency code | currency code
paid at | datetime | Timestamp of payment | payment time, paid on
% period
start date | date:recent | First day of the period | from, begins
end date | date:future | Last day of the period | until, ends
% organization
name | company | Organization name | company, organisation
website | url | Organization website | site, homepage
industry | pick:retail|logistics|healthcare|fintech|media|manufacturing|education | Industry sector | sector
% person
first name | first | Given name | given name, forename
last name | last | Family name | surname, family name
date of birth | date:dob | Birth date | born on, birthday, dob
email | email | Email address | e-mail
"""

DOMAINS = r"""
@ ecommerce : order
order id | code:ORD-######## | Unique order reference | order number, reference
order date | date:recent | Date the order was placed | ordered on, purchase date
customer name | person | Name of the buyer | buyer, purchaser
status | enum:pending|paid|shipped|delivered|cancelled | Fulfilment status | order status, state
total amount | money:10:2500 | Order total including tax | total, grand total | USD
item count | int:1:40 | Number of items | number of items, items
gift wrap | bool | Whether gift wrapping was requested | gift wrapping
coupon code | code:SAVE## | Discount code applied | promo code, voucher
[] tags | pick:sale|new|bundle|clearance|gift|eco|limited | Labels attached to the order | labels
{} line items / line item | Products in the order | products, items
  sku | code:SKU-?????-## | Stock keeping unit | product code
  product name | pick:wireless mouse|usb-c cable|standing desk|coffee grinder|yoga mat|desk lamp|backpack|water bottle | Product title | product, item
  quantity | int:1:12 | Units ordered | qty, units
  unit price | money:2:900 | Price per unit | price | USD
obj: address, contact, payment, dimensions

@ healthcare : patient visit
patient id | code:PT-###### | Patient identifier | patient number, MRN
patient name | person | Patient full name | patient, name
visit date | date:recent | Date of the visit | seen on, appointment date
department | pick:cardiology|oncology|pediatrics|neurology|orthopedics|dermatology | Hospital department | ward, unit
diagnosis | pick:hypertension|type 2 diabetes|migraine|asthma|acute bronchitis|sprained ankle | Primary diagnosis | condition, finding
heart rate | int:48:130 | Resting heart rate in beats per minute | pulse, HR | bpm
temperature | num:35.5:40.5:1 | Body temperature in Celsius | temp, body temperature | °C
admitted | bool | Whether the patient was admitted | inpatient, hospitalized
severity | enum:mild|moderate|severe|critical | Triage severity | acuity
[] symptoms | pick:cough|fever|fatigue|headache|nausea|dizziness|chest pain|rash | Reported symptoms | complaints
{} medications / medication | Prescribed medications | prescriptions, drugs
  drug name | pick:amoxicillin|ibuprofen|metformin|lisinopril|atorvastatin|albuterol | Medication name | drug, medicine
  dose mg | int:5:1000 | Dose in milligrams | dose, dosage | mg
  times per day | int:1:4 | Doses per day | frequency
obj: contact, address, person

@ banking : bank transaction
transaction id | code:TX-########## | Transaction identifier | reference, txn id
account holder | person | Account owner name | holder, customer
iban | iban | Account IBAN | account number, IBAN
amount | money:1:20000 | Transaction amount | sum, value | EUR
currency | enum:USD|EUR|GBP|CHF|JPY | ISO currency code | currency code
booked at | datetime | Booking timestamp | booking time, posted at
category | pick:groceries|rent|salary|utilities|travel|dining|insurance | Spending category | type
is recurring | bool | Whether the transaction repeats monthly | recurring, standing order
merchant | company | Counterparty merchant | payee, counterparty
[] flags | pick:reviewed|foreign|large|manual|disputed | Risk flags | markers
{} fees / fee | Fees charged | charges
  fee type | pick:fx conversion|wire|overdraft|card | Kind of fee | type
  fee amount | money:0.5:45 | Fee amount | amount | EUR
obj: address, organization

@ real estate : property listing
listing id | code:LST-##### | Listing identifier | MLS number, listing number
property type | enum:apartment|house|townhouse|condo|studio | Kind of property | type, home type
asking price | money:80000:2500000 | Asking price | price, list price | USD
bedrooms | int:0:7 | Number of bedrooms | beds, bedroom count
bathrooms | num:1:5:1 | Number of bathrooms | baths
floor area | int:25:600 | Living area in square metres | size, living space | m²
year built | year | Construction year | built in, construction year
has garage | bool | Whether a garage is included | garage, parking
listed on | date:recent | Date the listing went live | listing date
agent | person | Listing agent | realtor, broker
[] amenities | pick:pool|gym|balcony|fireplace|garden|elevator|storage|solar panels | Amenities | features
{} rooms / room | Rooms and their sizes | room list
  room name | pick:kitchen|living room|master bedroom|office|dining room|laundry | Room | name
  area | num:4:60:1 | Room area in square metres | size | m²
obj: address, contact, location

@ air travel : flight booking
booking reference | code:?????? | Airline record locator | PNR, confirmation code
airline | pick:Lufthansa|Delta|Air France|KLM|United|Emirates|Qantas | Operating airline | carrier
flight number | code:??#### | Flight number | flight no, flight
departure airport | pick:JFK|LHR|CDG|FRA|AMS|SFO|DXB|SYD|NRT | IATA code of origin | from, origin
arrival airport | pick:BOS|MAD|FCO|ORD|LAX|SIN|HKG|YYZ|ZRH | IATA code of destination | to, destination
departure time | datetime | Scheduled departure | departs, takeoff
cabin class | enum:economy|premium_economy|business|first | Travel class | class, cabin
checked bags | int:0:3 | Checked bags allowance | baggage, bags
fare | money:89:7500 | Total fare | price, ticket price | USD
refundable | bool | Whether the fare is refundable | refundable fare
{} passengers / passenger | Travellers on the booking | travellers, pax
  passenger name | person | Full name | name, traveller
  seat | code:##? | Seat assignment | seat number
  frequent flyer number | code:FF######## | Loyalty number | loyalty id
obj: contact, payment

@ hospitality : hotel reservation
reservation number | code:HR-####### | Reservation identifier | confirmation number, booking id
guest name | person | Primary guest | guest, name
hotel | pick:Grand Plaza|Seaside Inn|Alpine Lodge|City Suites|Harbor View Hotel | Hotel name | property
check in | date:future | Arrival date | arrival, check-in date
check out | date:future | Departure date | departure, check-out date
room type | enum:single|double|twin|suite|family | Room category | room
guests | int:1:6 | Number of guests | party size, occupants
nightly rate | money:60:900 | Price per night | rate, room rate | USD
breakfast included | bool | Whether breakfast is included | breakfast
special requests | sentence | Free-text requests | requests, notes
[] preferences | pick:high floor|quiet room|late checkout|extra pillows|non-smoking | Guest preferences | wishes
obj: contact, address, payment

@ education : course enrollment
student id | code:S####### | Student identifier | student number, matriculation number
student name | person | Student full name | student, learner
course code | code:???-### | Course code | course, module code
course title | pick:Linear Algebra|Organic Chemistry|World History|Data Structures|Microeconomics|Creative Writing | Course title | course name, module
credits | int:1:10 | Credit points | ECTS, credit hours
semester | enum:spring|summer|fall|winter | Semester | term
grade | num:1:4:1 | Grade point | GPA, mark
enrolled on | date:recent | Enrollment date | registered on
online | bool | Whether the course is taken online | remote, distance learning
instructor email | email | Instructor contact | teacher email, lecturer email
{} assignments / assignment | Graded assignments | coursework, tasks
  assignment title | pick:Essay 1|Lab report|Midterm|Final project|Quiz 3 | Title | name
  score | int:0:100 | Score out of 100 | points, mark
  due date | date:future | Due date | deadline, due
obj: person, address

@ recruiting : job application
application id | code:APP-###### | Application identifier | reference
candidate name | person | Applicant name | applicant, candidate
position | job | Job title applied for | role, job title
applied on | date:recent | Date of application | submitted on, application date
years of experience | int:0:35 | Years of relevant experience | experience, seniority | years
expected salary | int:30000:250000 | Expected yearly salary | salary expectation, desired salary | USD
willing to relocate | bool | Whether the applicant would relocate | relocation
stage | enum:screening|interview|offer|hired|rejected | Pipeline stage | status, phase
portfolio | url | Portfolio or profile link | website, profile
[] skills | pick:python|sql|negotiation|project management|excel|java|design|sales | Listed skills | competencies, abilities
{} interviews / interview | Interview rounds | rounds
  interviewer | person | Interviewer name | interviewed by
  interview date | date:future | Date of interview | scheduled for
  rating | int:1:5 | Rating out of five | score
obj: contact, address

@ logistics : shipment
tracking number | code:1Z###?########### | Carrier tracking number | tracking id, tracking code
carrier | pick:DHL|UPS|FedEx|USPS|Maersk|DPD | Shipping carrier | courier, shipper
shipped on | date:recent | Ship date | dispatch date, sent on
estimated delivery | date:future | Estimated delivery date | ETA, expected delivery
status | enum:label_created|in_transit|out_for_delivery|delivered|exception | Shipment status | state
weight kg | num:0.1:900:2 | Gross weight in kilograms | weight, gross weight | kg
packages | int:1:60 | Number of packages | parcels, pieces
insured | bool | Whether the shipment is insured | insurance
declared value | money:10:50000 | Declared customs value | value | USD
{} checkpoints / checkpoint | Scan events | scans, tracking events
  location | city | Scan location | place, city
  scanned at | datetime | Scan timestamp | time
  event | pick:picked up|arrived at hub|departed hub|customs cleared|delivered | Event | description
obj: address, dimensions, contact

@ automotive : vehicle listing
vin | code:1HG??#########?## | Vehicle identification number | VIN number, chassis number
make | pick:Toyota|Ford|Volkswagen|BMW|Honda|Tesla|Kia|Subaru | Manufacturer | brand, manufacturer
model | pick:Corolla|Focus|Golf|3 Series|Civic|Model 3|Sportage|Outback | Model name | model name
model year | year | Model year | year
mileage | int:0:250000 | Odometer reading in kilometres | odometer, kilometres | km
price | money:1500:95000 | Asking price | asking price, cost | USD
fuel type | enum:petrol|diesel|hybrid|electric|lpg | Fuel type | fuel, powertrain
color | color | Exterior colour | colour, paint
accident free | bool | Whether the car has no accident history | accident history
first registration | date:past | Date of first registration | registered
[] features | pick:heated seats|sunroof|navigation|parking sensors|cruise control|bluetooth | Equipment | extras, options
{} service records / service record | Maintenance history | service history
  service date | date:past | Date of service | serviced on
  service type | pick:oil change|brake pads|inspection|tire rotation|battery | Work done | work
  cost | money:20:2000 | Cost of service | price | USD
obj: contact, location

@ insurance : insurance claim
claim number | code:CLM-######## | Claim identifier | claim id, reference
policy number | code:POL-###### | Policy identifier | policy
policyholder | person | Policyholder name | insured, customer
incident date | date:past | Date of the incident | date of loss, occurred on
claim type | enum:auto|home|health|travel|liability | Line of business | type, category
claimed amount | money:100:90000 | Amount claimed | claim amount, requested | USD
approved | bool | Whether the claim was approved | accepted
deductible | int:0:5000 | Deductible in dollars | excess | USD
adjuster email | email | Claims adjuster contact | adjuster
description | sentence | What happened | incident description, summary
{} documents / document | Supporting documents | attachments, evidence
  document type | pick:police report|photo|invoice|medical report|receipt | Kind of document | type
  uploaded on | date:recent | Upload date | received
obj: address, contact, period

@ legal : contract
contract id | code:CT-####-### | Contract identifier | agreement number
title | pick:Master Services Agreement|Non-Disclosure Agreement|Lease Agreement|Supply Agreement|Consulting Agreement | Contract title | agreement, document title
party a | company | First contracting party | client, first party
party b | company | Second contracting party | vendor, counterparty
effective date | date:recent | Date the contract takes effect | starts, commencement date
term months | int:1:60 | Duration in months | term, duration | months
contract value | money:1000:2000000 | Total value | value, fee | USD
governing law | pick:New York|California|England and Wales|Delaware|Ontario | Governing jurisdiction | jurisdiction
auto renew | bool | Whether the contract auto-renews | automatic renewal, renews automatically
signed | bool | Whether both parties signed | executed
[] obligations | pick:confidentiality|non-compete|indemnity|audit rights|data protection | Key clauses | clauses
obj: address, contact, period

@ film : movie
title | pick:The Silent Harbor|Midnight Circuit|Paper Moons|The Last Orchard|Glass Kingdom | Movie title | film, name
director | person | Director | directed by
release date | date:past | Release date | released, premiere
runtime minutes | int:75:210 | Running time in minutes | runtime, length | min
genre | enum:drama|comedy|thriller|documentary|animation|sci-fi | Primary genre | category
rating | num:1:10:1 | Average rating out of 10 | score, user rating
box office | int:100000:900000000 | Worldwide box office in dollars | gross, revenue | USD
streaming | bool | Whether it is available for streaming | on streaming
[] languages | pick:English|French|Spanish|German|Japanese|Korean|Hindi | Audio languages | audio languages
{} cast / cast member | Main cast | actors, starring
  actor | person | Actor name | name, performer
  character | first | Character name | role, plays
obj: organization

@ music : album
album title | pick:Northern Lights|Echoes|Blue Hour|Static Dreams|Gold Rush | Album name | album, record
artist | person | Performing artist | band, musician
label | company | Record label | publisher, label name
released | date:past | Release date | release date, out on
tracks count | int:6:24 | Number of tracks | tracks, songs
genre | enum:rock|jazz|pop|hip_hop|classical|electronic | Genre | style
explicit | bool | Explicit lyrics flag | parental advisory
price | money:5:40 | Retail price | cost | USD
{} tracks / track | Track list | songs, tracklist
  track title | pick:Intro|Runaway|Paper Planes|Nightfall|Home Again|Outro | Song title | song, name
  duration seconds | int:90:600 | Length in seconds | length, duration | s
obj: organization

@ sports : match report
match id | code:M-###### | Match identifier | game id, fixture id
competition | pick:Premier League|La Liga|Champions League|Serie A|Bundesliga | Competition | league, tournament
home team | pick:Riverside FC|Harbor United|Northfield City|Eastwood Rovers | Home side | hosts
away team | pick:Lakeside Athletic|Hillcrest Town|Westbury Wanderers|Oakridge | Away side | visitors
home score | int:0:7 | Goals scored by home team | home goals
away score | int:0:7 | Goals scored by away team | away goals
kickoff | datetime | Kickoff time | started at, kick-off
attendance | int:1000:90000 | Spectators | crowd, spectators
extra time | bool | Whether extra time was played | overtime
referee | person | Referee name | official, ref
{} goals / goal | Goals scored | scorers
  scorer | person | Goal scorer | player
  minute | int:1:120 | Match minute | min, time
obj: location

@ restaurant : restaurant review
restaurant name | pick:Blue Fig|The Copper Pot|Sakura House|Casa Verde|Le Petit Jardin | Name of the restaurant | restaurant, venue
cuisine | enum:italian|japanese|mexican|french|indian|thai|american | Cuisine | food type, kitchen
reviewer | person | Reviewer name | critic, author
visited on | date:recent | Date of visit | visit date, dined on
rating | int:1:5 | Stars out of five | stars, score
price per person | money:8:180 | Average spend per person | price range, cost per head | USD
family friendly | bool | Whether it suits families | kid friendly, child friendly
would return | bool | Whether the reviewer would return | recommend
[] dishes | pick:ramen|tacos al pastor|margherita pizza|pad thai|risotto|tikka masala|burger | Dishes tried | ordered dishes, food
obj: address, contact, location

@ agriculture : field report
field id | code:FLD-#### | Field identifier | plot id, parcel
crop | pick:wheat|corn|soybeans|barley|potatoes|canola|rice | Crop planted | plant, cultivar
area hectares | num:0.5:500:1 | Field area in hectares | area, size | ha
planting date | date:past | Sowing date | planted on, sown on
expected yield | num:1:15:2 | Expected yield in tonnes per hectare | yield | t/ha
irrigated | bool | Whether the field is irrigated | irrigation
soil type | enum:clay|loam|sand|silt|peat | Soil type | soil
farmer | person | Responsible farmer | grower, owner
{} treatments / treatment | Fertilizer and pesticide applications | applications
  product | pick:nitrogen fertilizer|glyphosate|potash|fungicide|compost | Applied product | substance
  applied on | date:recent | Application date | date
  rate | num:0.5:300:1 | Rate in kg per hectare | dose | kg/ha
obj: location, contact

@ energy : utility bill
account number | code:UA-######## | Utility account | account, customer number
customer | person | Account holder | name, account holder
billing period start | date:recent | Start of billing period | from
billing period end | date:recent | End of billing period | to
usage kwh | int:50:4000 | Electricity used | consumption, usage | kWh
amount due | money:20:900 | Amount due | total due, balance | USD
due date | date:future | Payment due date | pay by, due
tariff | enum:standard|time_of_use|green|fixed | Tariff plan | plan, rate plan
autopay | bool | Whether autopay is enabled | direct debit
{} meter readings / meter reading | Meter readings | readings
  meter id | code:MTR-#### | Meter identifier | meter
  reading | int:1000:99999 | Reading value | value | kWh
obj: address

@ telecom : mobile plan
subscriber | person | Subscriber name | customer, account holder
phone number | phone | Mobile number | mobile, number
plan name | pick:Unlimited Plus|Basic 5GB|Family Share|Travel Pass|Student Lite | Plan | tariff, package
monthly fee | money:5:150 | Monthly fee | monthly price, fee | USD
data gb | int:1:200 | Included data in GB | data allowance, data | GB
contract end | date:future | End of minimum term | contract ends, term end
roaming | bool | Whether roaming is enabled | international roaming
network | enum:4g|5g|lte | Network generation | technology
[] add ons | pick:hotspot|streaming bundle|intl calls|device insurance|cloud storage | Add-ons | extras, bundles
obj: address, payment

@ manufacturing : production batch
batch number | code:B-#####-?? | Batch identifier | lot number, batch
product | pick:steel bracket|gear housing|circuit board|valve body|brake disc | Product made | part, item
line | enum:line_a|line_b|line_c|line_d | Production line | assembly line
units produced | int:50:20000 | Units produced | output, quantity
defect rate | num:0:8:2 | Defect rate in percent | defects, scrap rate | %
started at | datetime | Production start | start time
supervisor | person | Shift supervisor | lead, foreman
passed qa | bool | Whether the batch passed QA | QA passed, quality check
{} inspections / inspection | Quality inspections | QA checks
  inspector | person | Inspector | checked by
  result | enum:pass|fail|rework | Outcome | outcome
obj: dimensions, organization

@ pharmacy : prescription
rx number | code:RX-####### | Prescription number | prescription id
patient | person | Patient name | name, for
prescriber | person | Prescribing doctor | doctor, physician
medication | pick:amoxicillin|sertraline|levothyroxine|omeprazole|metformin | Drug | drug, medicine
strength mg | int:5:1000 | Strength in milligrams | strength, dose | mg
quantity | int:7:120 | Tablets dispensed | count, pills
refills | int:0:5 | Refills allowed | refills remaining
issued on | date:recent | Date issued | written on, prescribed on
generic allowed | bool | Whether generic substitution is allowed | substitution
instructions | pick:take once daily with food|take twice daily|take at bedtime|take every 8 hours | Dosing instructions | sig, directions
obj: contact, address

@ government : building permit
permit number | code:BP-####-#### | Permit identifier | permit id, reference
applicant | person | Applicant name | requested by, owner
work type | enum:new_construction|renovation|demolition|electrical|plumbing | Type of work | scope, category
estimated cost | money:500:900000 | Estimated project cost | cost, budget | USD
submitted | date:recent | Submission date | filed on, submitted on
approved | bool | Whether the permit is approved | granted
inspector | person | Assigned inspector | officer
floors | int:1:40 | Number of floors | storeys, levels
[] conditions | pick:noise limits|site fencing|daily cleanup|inspection before drywall|no weekend work | Permit conditions | requirements
obj: address, location, period

@ nonprofit : donation
donation id | code:DN-###### | Donation identifier | receipt number
donor | person | Donor name | giver, from
amount | money:5:50000 | Donation amount | gift, sum | USD
donated on | date:recent | Date of donation | received on, date
campaign | pick:Clean Water 2024|Winter Relief|School Meals|Tree Planting|Emergency Fund | Campaign | appeal, fund
recurring | bool | Whether the gift is monthly | monthly, repeat gift
anonymous | bool | Whether the donor wants to stay anonymous | anonymity
payment method | enum:card|check|bank_transfer|paypal | How it was paid | paid by
tax receipt email | email | Receipt address | receipt email
obj: address, contact

@ gaming : player profile
gamer tag | code:????_### | Player handle | username, handle
player name | person | Real name | name
level | int:1:120 | Character level | lvl, rank level
hours played | int:1:5000 | Total playtime | playtime | h
region | enum:na|eu|asia|oce|sa | Server region | server
premium | bool | Whether the player has premium | subscriber, premium member
joined | date:past | Account creation date | member since, created
win rate | num:0:100:1 | Win rate in percent | winrate | %
{} achievements / achievement | Unlocked achievements | trophies
  achievement name | pick:First Blood|Treasure Hunter|Marathon|Untouchable|Speedrunner | Name | title
  unlocked at | datetime | Unlock time | earned
obj: contact

@ cybersecurity : security incident
incident id | code:INC-###### | Incident identifier | ticket, case id
detected at | datetime | Detection time | detected, first seen
severity | enum:low|medium|high|critical | Severity | priority, risk
attack type | pick:phishing|ransomware|brute force|sql injection|ddos|malware | Attack vector | vector, category
source ip | ipv4 | Attacker IP address | origin ip, source
affected hosts | int:1:500 | Number of affected hosts | hosts, machines
contained | bool | Whether the incident is contained | containment
analyst | person | Responsible analyst | owner, handler
report url | url | Link to the report | report, link
[] indicators | pick:suspicious login|new admin account|outbound traffic spike|encrypted files|malicious macro | Indicators of compromise | IOCs, signals
obj: organization

@ software : bug report
issue key | code:???-#### | Tracker key | ticket, issue
title | pick:Crash on startup|Login times out|Export drops rows|Memory leak in worker|Wrong totals in report | Summary | summary, headline
reporter | person | Reporter | reported by, author
created | datetime | Creation time | opened at, filed
priority | enum:p0|p1|p2|p3 | Priority | urgency
component | pick:api|frontend|billing|auth|search|mobile | Component | module, area
version | code:#.##.# | Affected version | release, build
reproducible | bool | Whether it reproduces reliably | repro, can reproduce
story points | int:1:13 | Estimate | estimate, points
[] labels | pick:regression|ux|performance|security|good first issue|backend | Labels | tags
{} comments / comment | Discussion | replies
  author | person | Comment author | by
  posted at | datetime | Time posted | at
obj: contact

@ aviation : maintenance log
aircraft registration | code:N###?? | Tail number | tail number, registration
aircraft type | pick:A320|B737-800|E175|A350|B787-9|ATR 72 | Aircraft model | type, model
work order | code:WO-###### | Work order | order
performed on | date:recent | Maintenance date | date, done on
flight hours | int:100:80000 | Airframe hours | total hours, hours | h
technician | person | Certifying technician | engineer, mechanic
airworthy | bool | Whether released to service | released, serviceable
check type | enum:a_check|b_check|c_check|line | Check performed | check
{} parts replaced / part | Replaced parts | components, parts
  part number | code:PN-#####-? | Part number | P/N
  description | pick:brake assembly|hydraulic pump|tire|fuel filter|pitot probe | Part description | part
  quantity | int:1:6 | Quantity | qty
obj: location

@ events : conference registration
attendee | person | Attendee name | participant, name
event name | pick:DataConf 2025|Cloud Summit|PyDay|Design Week|FinTech Forum | Event | conference
ticket type | enum:standard|vip|student|speaker|virtual | Ticket type | pass, ticket
price paid | money:0:2500 | Ticket price paid | price, fee | USD
registered on | date:recent | Registration date | signed up on
event date | date:future | Event date | takes place on, date
dietary needs | pick:vegetarian|vegan|gluten free|halal|kosher|none | Dietary requirements | diet
needs hotel | bool | Whether accommodation is needed | accommodation
[] sessions | pick:keynote|workshop a|panel on ai|networking lunch|closing talk | Sessions booked | talks, workshops
obj: contact, organization, address

@ fitness : workout log
athlete | person | Athlete | name, user
workout date | date:recent | Date of the workout | date, session date
activity | enum:running|cycling|swimming|strength|yoga|rowing | Activity | sport, type
duration minutes | int:10:240 | Duration in minutes | duration, time | min
distance km | num:0.5:180:2 | Distance in kilometres | distance | km
calories | int:50:3000 | Calories burned | kcal, energy | kcal
avg heart rate | int:80:190 | Average heart rate | heart rate, HR | bpm
personal best | bool | Whether it was a personal best | PB, record
{} laps / lap | Laps or sets | splits, sets
  lap number | int:1:50 | Lap index | lap
  lap time seconds | int:30:900 | Lap time in seconds | time, split | s
obj: location

@ weather : weather observation
station id | code:WS-#### | Station identifier | station
observed at | datetime | Observation time | time, recorded at
temperature c | num:-30:45:1 | Air temperature in Celsius | temperature, temp | °C
humidity | int:5:100 | Relative humidity in percent | relative humidity | %
wind speed | num:0:120:1 | Wind speed in km per hour | wind | km/h
wind direction | enum:n|ne|e|se|s|sw|w|nw | Wind direction | direction
precipitation mm | num:0:80:1 | Precipitation | rain, rainfall | mm
storm warning | bool | Whether a storm warning is active | warning
conditions | pick:clear|partly cloudy|overcast|light rain|snow|fog|thunderstorm | Sky conditions | sky, weather
obj: location

@ research : experiment
experiment id | code:EXP-#### | Experiment identifier | run id
title | pick:Enzyme kinetics at low pH|Graphene conductivity|Sleep and memory|Soil microbiome survey | Title | name, study
principal investigator | person | Lead researcher | PI, lead
started on | date:past | Start date | began, start
samples | int:3:5000 | Number of samples | sample size, n
p value | num:0:1:4 | Reported p-value | significance
peer reviewed | bool | Whether it was peer reviewed | reviewed
funding | money:1000:3000000 | Funding amount | grant, budget | USD
[] keywords | pick:biochemistry|materials|neuroscience|ecology|statistics|genomics | Keywords | topics
{} measurements / measurement | Recorded measurements | readings, data points
  variable | pick:temperature|ph|concentration|voltage|response time | Measured variable | quantity
  value | num:0:1000:3 | Measured value | reading
obj: organization, contact

@ construction : construction project
project code | code:PRJ-#### | Project code | project id, job number
project name | pick:Riverside Apartments|North Bridge Repair|Library Extension|Harbor Warehouse | Project name | project, name
contractor | company | General contractor | builder, GC
budget | money:50000:50000000 | Approved budget | cost, budget amount | USD
percent complete | int:0:100 | Completion in percent | progress, completion | %
start date | date:past | Start date | started, began
on schedule | bool | Whether the project is on schedule | on track
phase | enum:design|permitting|foundation|framing|finishing|handover | Current phase | stage
workers on site | int:2:400 | Workers on site | crew size, headcount
{} milestones / milestone | Milestones | key dates
  milestone name | pick:groundbreaking|topping out|roof complete|inspection passed|handover | Milestone | name
  target date | date:future | Target date | due, planned for
obj: address, contact, location

@ marketing : ad campaign
campaign name | pick:Spring Sale|Back to School|Holiday Promo|Summer Launch|Brand Awareness Q3 | Campaign | name
channel | enum:search|social|email|display|video | Channel | medium, platform
budget | money:500:500000 | Budget | spend cap, budget amount | USD
impressions | int:1000:50000000 | Impressions | views, reach
clicks | int:10:900000 | Clicks | click count
conversion rate | num:0:25:2 | Conversion rate in percent | CVR, conversions | %
launch date | date:recent | Launch date | launched, start
active | bool | Whether the campaign is running | running, live
landing page | url | Landing page | URL, destination
[] audiences | pick:students|parents|young professionals|retirees|gamers|small business owners | Target audiences | segments, targeting
obj: period, organization

@ library : book loan
isbn | code:978-#-###-#####-# | ISBN | ISBN-13, book number
book title | pick:The Quiet Valley|A Study in Glass|Rivers of Salt|The Clockmaker|Winter Letters | Title | title, book
author | person | Author | written by, writer
borrower | person | Borrower | member, patron
borrowed on | date:recent | Loan date | checked out, loan date
due back | date:future | Due date | return by, due
renewals | int:0:3 | Times renewed | renewal count
overdue | bool | Whether the loan is overdue | late
format | enum:hardcover|paperback|ebook|audiobook | Format | edition
pages | int:80:1200 | Page count | page count, length
obj: contact, address

@ veterinary : pet record
pet name | first | Name of the pet | name, animal name
species | enum:dog|cat|rabbit|parrot|horse|hamster | Species | animal, kind
breed | pick:labrador|siamese|beagle|maine coon|dachshund|border collie | Breed | race
date of birth | date:dob | Birth date | born, birthday
weight kg | num:0.1:90:1 | Weight in kilograms | weight | kg
neutered | bool | Whether the animal is neutered | spayed, castrated
microchip | code:############### | Microchip number | chip id, chip
owner | person | Owner | owner name, belongs to
{} vaccinations / vaccination | Vaccination history | shots, vaccines
  vaccine | pick:rabies|distemper|parvovirus|leptospirosis|feline leukemia | Vaccine | shot
  given on | date:past | Date given | administered
obj: contact, address

@ crm : sales lead
lead id | code:LD-###### | Lead identifier | id, lead number
contact name | person | Lead contact | name, prospect
company | company | Company | organization, account
job title | job | Job title | role, position
lead source | enum:website|referral|trade_show|cold_call|webinar | Source | source, channel
estimated deal size | money:1000:900000 | Estimated deal value | deal value, potential | USD
score | int:0:100 | Lead score | rating
qualified | bool | Whether the lead is qualified | SQL, qualified lead
next follow up | date:future | Next follow-up date | follow up, next contact
linkedin | url | Profile link | profile url
[] interests | pick:analytics|automation|cloud migration|security|training|integrations | Product interests | interested in
obj: contact, address, organization

@ customer support : support ticket
ticket id | code:TCK-###### | Ticket identifier | case number, ticket
customer | person | Customer name | requester, user
customer email | email | Customer email | email, contact email
opened at | datetime | Creation time | created, submitted
channel | enum:email|phone|chat|web_form|social | Contact channel | via, source
priority | enum:low|normal|high|urgent | Priority | urgency
subject | pick:Refund request|Cannot log in|Damaged item|Wrong size delivered|Billing question | Subject | topic, issue
resolved | bool | Whether the ticket is resolved | closed, solved
satisfaction | int:1:5 | CSAT score | CSAT, rating
{} messages / message | Conversation | replies, thread
  sender | person | Sender name | from, author
  sent at | datetime | Time sent | time
obj: contact, address
"""
