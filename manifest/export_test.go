package manifest

var CheckDuplicateKeys = checkDuplicateKeys
