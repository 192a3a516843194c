"""What each column of the product's tables holds, declared once for every domain's models.

Every column declares (``privacy.purposes.personal`` / ``not_personal``) the
category of personal data it holds and the purposes it serves. The record of
processing lists where each purpose's data is stored from these declarations,
and a test fails on a column that declares nothing.
"""

from privacy.purposes import (LICENSE_ACTIVATION, LICENSE_COMPLIANCE, LICENSE_REFRESH,
                              PRIVACY_RIGHTS, STAFF_ACCESS, SUPPORT, not_personal, personal)

ACCOUNT_ID = personal("account.identifier", LICENSE_ACTIVATION, SUPPORT)
CONTACT = personal("account.contact", SUPPORT)
ACCOUNT_RECORD = personal("account.record", SUPPORT, PRIVACY_RIGHTS)
HOLDING = personal("license.holding", LICENSE_ACTIVATION, LICENSE_COMPLIANCE, SUPPORT)
USAGE = personal("seat.usage", LICENSE_ACTIVATION, LICENSE_REFRESH, LICENSE_COMPLIANCE, SUPPORT)
DEVICE = personal("device.pseudonym", LICENSE_ACTIVATION, LICENSE_REFRESH)
DEVICE_KEY = personal("device.public_key", LICENSE_ACTIVATION)
LABEL = personal("device.label", LICENSE_ACTIVATION, SUPPORT)
CODE = personal("activation.code", LICENSE_ACTIVATION)
STAFF = personal("staff.identity", STAFF_ACCESS)
SESSION = personal("account.session", LICENSE_ACTIVATION)
CATALOGUE = not_personal("the product catalogue")
SIGNING = not_personal("the service's own lease-signing keys")
