from runtime.service import serve
from services.checkin.bootstrap import DEFINITION

serve(DEFINITION)
