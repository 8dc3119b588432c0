"""FERV39k's taxonomy (Wang et al., CVPR 2022): 4 scenarios, 22 scenes,
7 expressions and their descriptor words."""

SCENARIOS: dict[str, list[str]] = {
    "Daily Life": ["Conflict", "School", "DailyLife", "Argue", "Medicine", "Social"],
    "Weak-Interactive Shows": ["Action", "ScholarReport", "Speech", "Liveshow", "ElegantArt", "Talkshow"],
    "Strong-Interactive Activities": ["Business", "Experiment", "OfficialEvent", "Crime", "Interview", "Contest"],
    "Anomaly Issues": ["History", "Terror", "War", "Crisis"],
}

# Order is the class index used by every model and aggregator.
EXPRESSIONS: dict[str, list[str]] = {
    "Angry": ["Furious", "Wrath", "Outraged", "Sore"],
    "Disgust": ["Hate", "Hatred", "Sick", "Dislike"],
    "Fear": ["Distress", "Panic", "Worry", "Terror"],
    "Happy": ["Pride", "Cheerful", "Thrill"],
    "Neutral": ["Poker-faced", "Calm", "Unbiased"],
    "Sad": ["Bitter", "Down", "Somber", "Dismal"],
    "Surprise": ["Awe", "Amaze", "Shock", "Marvel"],
}

EXPRESSION_NAMES: list[str] = list(EXPRESSIONS)
