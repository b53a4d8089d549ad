// implemented by the formats/text work in progress
