"""A few paragraphs of plain English for ``adapters check`` on a model without a dataset of
its own: enough tokens to see whether an SAE reconstructs real activations at all."""

PARAGRAPHS = (
    "The river runs through the middle of the old town, and on summer evenings people walk "
    "along its banks to watch the boats come in. A small bridge of grey stone connects the "
    "market square to the church, which was built more than four hundred years ago.",
    "To make bread, mix flour, water, salt and a little yeast, then knead the dough for ten "
    "minutes until it is smooth. Leave it to rise in a warm place for an hour, shape it into "
    "a loaf, and bake it in a hot oven until the crust is brown and sounds hollow.",
    "In 1969, two astronauts landed on the Moon while a third orbited above them. They "
    "collected rocks, planted a flag and returned safely to Earth after eight days. Millions "
    "of people watched the landing on television around the world.",
    "def mean(values):\n    total = 0\n    for value in values:\n        total += value\n"
    "    return total / len(values)\n\nprint(mean([1, 2, 3, 4]))",
    "The committee met on Tuesday to discuss the budget for next year. Several members argued "
    "that spending on roads should increase, while others wanted more money for schools and "
    "libraries. No decision was reached, and the meeting will continue next week.",
    "Photosynthesis is the process by which plants use sunlight, water and carbon dioxide to "
    "make sugar and release oxygen. It takes place mostly in the leaves, inside small "
    "structures called chloroplasts that contain a green pigment.",
    "She opened the letter slowly, afraid of what it might say. Inside was a single sheet of "
    "paper with three words written in careful handwriting: come home soon. She read it "
    "twice, folded it, and put it in her pocket before anyone could see.",
    "Prices rose by three percent in March compared with a year earlier, according to figures "
    "published on Friday. Energy and food were the main causes, while the cost of clothing "
    "fell slightly for the second month in a row.",
    "The cat sat on the windowsill all afternoon, watching birds in the garden. When the sun "
    "went down it jumped to the floor, stretched, and walked into the kitchen to ask for its "
    "dinner, as it did every evening at the same time.",
    "Water boils at one hundred degrees Celsius at sea level, but at lower temperatures on a "
    "high mountain, because the air pressure there is lower. This is why cooking pasta takes "
    "longer in the Alps than it does by the sea.",
)
