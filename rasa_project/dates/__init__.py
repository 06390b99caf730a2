"""Spanish day and time understanding for bookings: "right, or ask".

`understand_when(text, now, tz, spans)` reads what a WhatsApp message says about a moment into a
`When`; `merge_correction` applies a follow-up ("mejor el sábado") to an earlier `When`;
`describe_when` echoes one in Spanish. Pure: no I/O, and the result depends only on the text, the
message time and the business zone.

The package is a pipeline of small steps, each in its own module:

    tokens (fold, typos, amounts as NOISE)
      -> scan, running the readers of time_phrases, day_phrases and date_phrases (-> findings)
      -> refusals ("mañana no puedo")
      -> spans (read the NLU's entities, or the whole text)
      -> resolve (one day or a question; every reading of an hour) -> When

`calendar` and `clock` hold the arithmetic of days and of studio hours. Two rules run through all of
it: a day the client named but that is not understood is a question (`When.unclear_day`), never a
default or a nearby day; and a number is a day or an hour only when its words say so.
"""

from rasa_project.dates.correction import merge_correction
from rasa_project.dates.describe import describe_when
from rasa_project.dates.understand import understand_when
from rasa_project.dates.when import When

__all__ = ["When", "describe_when", "merge_correction", "understand_when"]
