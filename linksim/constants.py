"""Physical constants, in SI units. The only place they are typed."""

SPEED_OF_LIGHT_M_S = 299_792_458.0
BOLTZMANN_J_K = 1.380649e-23
EARTH_RADIUS_M = 6_371_000.0  # mean spherical Earth radius
EARTH_MU_M3_S2 = 3.986004418e14  # standard gravitational parameter GM
EARTH_ROTATION_RAD_S = 7.2921159e-5  # sidereal rotation rate
