"""Errors of the launcher: one line naming the file and what is wrong."""


class LaunchError(Exception):
    def __init__(self, message: str, file: str = "", line: int = 0, key: str = ""):
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        super().__init__(self.format())

    def format(self) -> str:
        if not self.file:
            return self.message
        where = self.file + (f":{self.line}" if self.line else "")
        key = f" [{self.key}]" if self.key else ""
        return f"{where}:{key} {self.message}"
