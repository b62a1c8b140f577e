"""The words the generated partnership is written in: organisations, names,
rooms, workstream themes, and what minutes, highlight reports and apologies say.
Fictional: every person is invented, every address is @example.org."""

from __future__ import annotations

import random

ORGANISATIONS = (
    ("council", "Preston City Council"),
    ("county", "Lancashire County Council"),
    ("ccg", "Central Lancashire Clinical Commissioning Group"),
    ("lcft", "Lancashire Care NHS Foundation Trust"),
    ("lthtr", "Lancashire Teaching Hospitals NHS Foundation Trust"),
    ("police", "Lancashire Constabulary"),
    ("fire", "Lancashire Fire and Rescue Service"),
    ("dwp", "Department for Work and Pensions"),
    ("college", "Preston College"),
    ("university", "University of Central Lancashire"),
    ("vcfs", "Preston Voluntary, Community and Faith Sector Network"),
    ("housing", "Community Gateway Association"),
)

FIRST_NAMES = (
    "Alex", "Amira", "Ben", "Bernadette", "Callum", "Chloe", "Daniel", "Deborah", "Derek", "Eleanor",
    "Farah", "Gareth", "Graham", "Hannah", "Hayley", "Imran", "Jess", "John", "Karen", "Kieran",
    "Lou", "Lucy", "Mark", "Mohammed", "Nadia", "Neil", "Olivia", "Peter", "Priya", "Rachel",
    "Ray", "Rosalind", "Sam", "Sarah", "Siobhan", "Tomasz", "Usha", "Vicky", "Will", "Zoe",
)  # fmt: skip

LAST_NAMES = (
    "Ashcroft", "Bradley", "Burke", "Cottam", "Crompton", "Dewhurst", "Eccles", "Fairclough",
    "Greenhalgh", "Hartley", "Hughes", "Hussain", "Jackson", "Kenyon", "Lowe", "Marland", "Nowicki",
    "Oldroyd", "Patel", "Pilling", "Quayle", "Rigby", "Shah", "Singleton", "Taylor", "Unsworth",
    "Varley", "Whittle", "Wing", "Yates",
)  # fmt: skip

TITLES = (
    "Chief Executive", "Director of Public Health", "Head of Policy", "Partnerships Officer",
    "Group Manager", "Chief Inspector", "Service Manager", "Programme Manager", "Councillor",
    "Head of Commissioning", "Locality Lead", "Network Coordinator", "Principal", "Senior Analyst",
)  # fmt: skip

ROOMS = ("Committee Room 1", "Committee Room 2", "Council Chamber", "Cabinet Room", "Room B14")

THEMES = (
    ("intelligence-sharing", "Intelligence Sharing"),
    ("integrated-assets", "Integrated Assets"),
    ("joint-commissioning", "Joint Commissioning"),
    ("wellbeing-resilience", "Wellbeing and Resilience"),
    ("early-help", "Early Help"),
    ("digital-inclusion", "Digital Inclusion"),
    ("community-safety", "Community Safety"),
    ("housing-first", "Housing First"),
    ("employment-skills", "Employment and Skills"),
    ("mental-health", "Mental Health Crisis Care"),
    ("social-prescribing", "Social Prescribing"),
    ("troubled-families", "Troubled Families"),
    ("volunteering", "Volunteering"),
    ("air-quality", "Air Quality"),
    ("ageing-well", "Ageing Well"),
    ("financial-inclusion", "Financial Inclusion"),
    ("domestic-abuse", "Domestic Abuse"),
    ("school-readiness", "School Readiness"),
    ("homelessness", "Homelessness Prevention"),
    ("one-public-estate", "One Public Estate"),
)

AIMS = (
    "one shared view of the people we serve",
    "fewer buildings, shared by more services",
    "pooled budgets commissioned once",
    "earlier help, fewer crises",
)

PROGRESS = (
    "Data sharing agreement signed by four partners",
    "Pilot running in two neighbourhoods; first cases referred",
    "Business case drafted and shared with finance leads",
    "Co-location of the neighbourhood team completed",
    "Baseline survey closed with 412 responses",
)
ISSUES = (
    "Information governance sign-off delayed",
    "Lead officer on long-term leave",
    "Budget not yet confirmed",
)
RISKS = (
    "Pilot funding ends in March",
    "Partners' systems cannot exchange data yet",
    "Low take-up outside the centre",
)
NEXT_STEPS = (
    "Report to the Board",
    "Evaluate the pilot",
    "Agree the terms of reference",
    "Extend to two more wards",
)
DECISIONS = ("Approve the pooled budget", "Agree the data sharing protocol", "Endorse the business case")

_VERBS = ("Circulate", "Report back on", "Draft", "Arrange", "Share", "Update the Board on", "Map", "Agree")
_OBJECTS = (
    "Away Day outcomes",
    "the locality plan",
    "the pooled budget options",
    "a workshop on shared assets",
    "the highlight report template",
    "the data sharing protocol",
    "referral numbers for the pilot",
    "the draft terms of reference",
    "the evaluation framework",
    "a visit to the integrated hub",
)
_WHEN = ("", "", "", " before the next meeting", " with Group Leads", " to all partners")

FREE_TEXT_OWNERS = ("Group Leads", "All partners", "Programme office", "Workstream leads", "Finance leads")

REASONS = (
    "Annual leave",
    "Clash with full council",
    "At a conference in Leeds",
    "Hospital appointment",
    "Covering an incident",
    "Training day",
)
SUBSTITUTES = ("Deputy director", "Area manager", "Policy officer", "Vice chair")


def action_what(rng: random.Random) -> str:
    return f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_WHEN)}"
