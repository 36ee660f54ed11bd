"""Words the generator builds names, titles and ticket texts from."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra "
    "Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol "
    "Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura "
    "Jeffrey Cynthia Ryan Dorothy Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma "
    "Stephen Brenda Larry Pamela Justin Nicole Scott Anna Brandon Samantha Benjamin Katherine Samuel "
    "Christine Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia Dennis "
    "Heather Jerry Helen Tyler Catherine Aaron Diane Jose Julie Adam Victoria Nathan Joyce Henry Lauren "
    "Zachary Kelly Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith Jeremy Evelyn "
    "Walter Hannah Christian Andrea Keith Megan Roger Cheryl Terry Jacqueline Austin Madison Sean Teresa "
    "Priya Arjun Wei Mei Hiroshi Yuki Lars Ingrid Sofia Mateo Lucia Pierre Camille Klaus Anja Omar Leila "
    "Kwame Amara Diego Valentina Sven Freya Raj Ananya Chen Lin Akira Sakura Ivan Olga Marco Giulia"
)

LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
    "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Fisher Vasquez Simmons "
    "Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes "
    "Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison "
    "Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns "
    "Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks "
    "Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt "
    "Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer "
    "Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong "
    "Müller Schneider Fischer Weber Novak Kowalski Rossi Bianchi Dubois Laurent Tanaka Suzuki Sato Singh "
    "Sharma Gupta Wang Zhang Liu Yamamoto Andersson Johansson Nielsen Virtanen"
)

COMPANY_FIRST = _words(
    "Blue North Silver Bright Iron Summit Cedar Harbor Pioneer Granite Atlas Apex Clear Red Green Golden "
    "Swift Stone River Maple Oak Pine Eagle Falcon Polar Sun Star Nova Vertex Crest Beacon Delta Quantum "
    "Lumen Vector Orbit Prime Crimson Coastal Alpine Prairie Metro Urban Liberty Heritage Keystone Sierra "
    "Evergreen Horizon Meridian Northwind Bluewave Redwood Ironclad Brightline Silverline Tidal Zenith"
)
COMPANY_SECOND = _words(
    "Logistics Health Labs Systems Foods Energy Capital Analytics Robotics Media Retail Partners Networks "
    "Software Dynamics Solutions Manufacturing Biotech Insurance Freight Hospitality Learning Security "
    "Mobility Foods Pharma Realty Telecom Consulting Supply Apparel Fitness Travel Finance Marine Aerospace "
    "Clinics Studios Brands Outfitters Industries Ventures Works Group Collective Holdings"
)
COMPANY_SUFFIX = ("Inc.", "LLC", "Ltd", "GmbH", "Corp.", "Co.", "", "", "", "")
TLDS = (".com", ".com", ".com", ".io", ".co", ".net", ".ai")

# Salesforce's standard Industry picklist values.
INDUSTRIES = (
    "Technology",
    "Healthcare",
    "Finance",
    "Retail",
    "Manufacturing",
    "Education",
    "Media",
    "Transportation",
    "Energy",
    "Hospitality",
    "Insurance",
    "Telecommunications",
    "Consulting",
    "Biotechnology",
    "Apparel",
)
# Country, share of customers, UTC offset of the working day (hours).
COUNTRIES = (
    ("United States", 0.52, -6),
    ("United Kingdom", 0.1, 0),
    ("Germany", 0.08, 1),
    ("Canada", 0.06, -5),
    ("France", 0.05, 1),
    ("Netherlands", 0.04, 1),
    ("Australia", 0.04, 10),
    ("Sweden", 0.03, 1),
    ("India", 0.03, 5),
    ("Japan", 0.02, 9),
    ("Brazil", 0.03, -3),
)

CONTACT_TITLES = (
    "VP Operations",
    "Director of Analytics",
    "Head of Data",
    "Operations Manager",
    "Analyst",
    "Senior Analyst",
    "IT Manager",
    "CFO",
    "Controller",
    "Procurement Manager",
    "Team Lead",
    "Product Manager",
    "Marketing Manager",
    "COO",
    "Data Engineer",
    "Business Analyst",
)
CHAMPION_TITLES = ("Director of Analytics", "Head of Data", "VP Operations", "Operations Manager", "Team Lead")

CSM_TITLE = "Customer Success Manager"
AE_TITLE = "Account Executive"

TICKET_SUBJECTS: dict[str, tuple[str, ...]] = {
    "how-to": (
        "How do I share a dashboard with my team?",
        "Setting up scheduled reports",
        "How to filter by date range",
        "Question about user roles and permissions",
        "Can we customize the report layout?",
        "How do I connect our data warehouse?",
        "Best way to build a funnel chart?",
    ),
    "bug": (
        "Dashboard not loading",
        "Export to CSV produces empty file",
        "Charts show wrong totals",
        "Scheduled report did not arrive",
        "Error when saving a workflow",
        "Integration sync failing",
        "Filters reset after refresh",
    ),
    "feature-request": (
        "Feature request: custom fields in reports",
        "Please add SSO group mapping",
        "Request: API rate limit increase",
        "Would like dark mode",
        "Need more granular alert conditions",
    ),
    "billing": (
        "Question about our latest invoice",
        "Update billing contact",
        "Card payment failed",
        "Request to reduce seats at renewal",
        "Need a W-9 / tax form",
        "Invoice shows wrong quantity",
    ),
    "access": ("Cannot log in", "Reset 2FA for a user", "Add new users to workspace", "SSO login loop"),
    "outage": ("Application is down", "Everything is very slow right now", "500 errors across the app"),
    "cancellation": (
        "We will not renew",
        "Cancel our subscription at period end",
        "Notice of non-renewal",
    ),
}
TICKET_BODY = {
    "how-to": "Hi team, could you point me to the documentation for this? Thanks.",
    "bug": "We are seeing this since yesterday. Steps to reproduce attached. This blocks part of our team.",
    "feature-request": "This would help our team a lot. Is it on the roadmap?",
    "billing": "Please advise on the billing question above.",
    "access": "One of our users cannot get in. Can you help?",
    "outage": "Nobody on our side can work right now. Please treat as urgent.",
    "cancellation": "Please confirm the cancellation. We may revisit next year.",
}
# Zendesk ticket type by tag.
TICKET_TYPE = {
    "how-to": "question",
    "bug": "incident",
    "feature-request": "task",
    "billing": "question",
    "access": "question",
    "outage": "incident",
    "cancellation": "question",
}
CSAT_GOOD_COMMENTS = ("Thanks, quick help!", "Great support", "", "", "Solved, thank you")
CSAT_BAD_COMMENTS = ("Took far too long", "Problem is not really fixed", "", "Not helpful", "Still broken")
CHAMPION_LEFT_SUBJECTS = ("Transfer workspace ownership", "Remove a user who left our company")
